package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
)

// What the shared tier writes is authenticated with the fleet's keys
// (WithSharedKeys), which never enter the store:
//
//   - an entry (Amazon's facts about one token) is sealed with AES-256-GCM
//     under HKDF-SHA256(secret: the token, salt: the fleet key,
//     info: "lwa/v2/seal"), with its storage key as associated data. Opening
//     it takes both the fleet key and the token: whoever can write to the
//     store but lacks the fleet key cannot forge an entry even for a token
//     of their own choosing, and whoever has the fleet key but not the token
//     cannot read one;
//   - a revocation record, a forget tombstone and a message between
//     replicas carry an HMAC-SHA256 tag (16 bytes) under a key derived from
//     the fleet key (info "lwa/v2/mac") over a domain label, the storage key
//     and the content.
//
// Each starts with a format version and the 4-byte id of the fleet key used,
// so that a rotated set of keys opens what any of them wrote, and a value
// of another format is a plain miss.
const formatVersion = 2

type keyID = [4]byte

// fleetKeys are the Verifier's shared-tier keys: the first one seals and
// signs, every one opens and verifies.
type fleetKeys struct {
	raw  [][]byte
	ids  []keyID
	macs [][]byte
}

func newFleetKeys(keys [][]byte) *fleetKeys {
	k := &fleetKeys{}
	for _, raw := range keys {
		id := sha256.Sum256(append([]byte("lwa/v2/key-id\x00"), raw...))
		mac, err := hkdf.Key(sha256.New, raw, nil, "lwa/v2/mac", 32)
		if err != nil {
			panic(err) // 32 bytes of HKDF-SHA256 cannot fail
		}
		k.raw = append(k.raw, raw)
		k.ids = append(k.ids, keyID(id[:4]))
		k.macs = append(k.macs, mac)
	}
	return k
}

// find returns the index of the key with id, or -1.
func (k *fleetKeys) find(id []byte) int {
	for i := range k.ids {
		if string(k.ids[i][:]) == string(id) {
			return i
		}
	}
	return -1
}

func (k *fleetKeys) aead(i int, token string) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, []byte(token), k.raw[i], "lwa/v2/seal", 32)
	if err != nil {
		panic(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// record is an entry as sealed in the store: Amazon's facts about a token
// (its audience, app, customer, issue and expiry times, profile), or
// Amazon's rejection of it, and when Amazon said so. Never a decision of
// one Verifier: each applies its own client IDs and required fields.
type record struct {
	Kind    string   `json:"k"` // "f" facts, "r" Amazon's rejection
	UserID  string   `json:"u,omitempty"`
	Aud     string   `json:"a,omitempty"`
	AppID   string   `json:"p,omitempty"`
	Iat     int64    `json:"i,omitempty"` // Unix seconds
	Exp     int64    `json:"x,omitempty"` // Unix nanoseconds; 0: outlives any cache
	At      int64    `json:"t"`           // Unix nanoseconds: when Amazon said so
	Profile *Profile `json:"pr,omitempty"`
	Reject  string   `json:"e,omitempty"` // the rejection's code
	// Gen is the forget tombstone ({T}:f) the writer saw before it asked
	// Amazon: 0 for none. A reader trusts the record only while the
	// tombstone is still that one: a Forget that ran meanwhile (a new
	// tombstone) makes it a miss, whatever the clocks say.
	Gen int64 `json:"g,omitempty"`
}

// opened is what opening a value found.
type opened uint8

const (
	openOK opened = iota
	openForged
	openUnreadable
)

// seal seals r for token under the storage key name.
func (k *fleetKeys) seal(token, name string, r *record) []byte {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	aead := k.aead(0, token)
	head := 1 + len(keyID{}) + aead.NonceSize()
	out := make([]byte, head, head+len(plain)+aead.Overhead())
	out[0] = formatVersion
	copy(out[1:], k.ids[0][:])
	if _, err := rand.Read(out[5:head]); err != nil {
		return nil
	}
	return aead.Seal(out, out[5:head], plain, []byte(name))
}

// open opens a value sealed for token under name.
func (k *fleetKeys) open(token, name string, val []byte) (*record, opened) {
	if len(val) < 5 || val[0] != formatVersion {
		return nil, openUnreadable
	}
	i := k.find(val[1:5])
	if i < 0 {
		return nil, openForged
	}
	aead := k.aead(i, token)
	n := 5 + aead.NonceSize()
	if len(val) < n {
		return nil, openForged
	}
	plain, err := aead.Open(nil, val[5:n], val[n:], []byte(name))
	if err != nil {
		return nil, openForged
	}
	var r record
	if json.Unmarshal(plain, &r) != nil || (r.Kind != "f" && r.Kind != "r") {
		return nil, openUnreadable
	}
	return &r, openOK
}

const tagLen = 16

// sign returns version, key id, payload and the tag over domain, name and
// payload.
func (k *fleetKeys) sign(domain, name string, payload []byte) []byte {
	out := make([]byte, 0, 5+len(payload)+tagLen)
	out = append(out, formatVersion)
	out = append(out, k.ids[0][:]...)
	out = append(out, payload...)
	return append(out, k.tag(0, domain, name, payload)...)
}

func (k *fleetKeys) tag(i int, domain, name string, payload []byte) []byte {
	m := hmac.New(sha256.New, k.macs[i])
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:tagLen]
}

// verify returns the payload of a signed value, if its tag is right.
func (k *fleetKeys) verify(domain, name string, val []byte) ([]byte, opened) {
	if len(val) < 5+tagLen || val[0] != formatVersion {
		return nil, openUnreadable
	}
	i := k.find(val[1:5])
	if i < 0 {
		return nil, openForged
	}
	payload := val[5 : len(val)-tagLen]
	if !hmac.Equal(k.tag(i, domain, name, payload), val[len(val)-tagLen:]) {
		return nil, openForged
	}
	return payload, openOK
}

// Domains of the signed values.
const (
	domainRecord  = "lwa/v2/record"  // {T}:r, {T}:f, u:{U}: one instant
	domainMessage = "lwa/v2/message" // a message between replicas
)

// signInstant signs an instant (a revocation's end, a customer's cutoff, a
// forget's time) stored under name, with the time it was written.
func (k *fleetKeys) signInstant(name string, t, sent int64) []byte {
	var p [16]byte
	binary.BigEndian.PutUint64(p[:8], uint64(t))
	binary.BigEndian.PutUint64(p[8:], uint64(sent))
	return k.sign(domainRecord, name, p[:])
}

func (k *fleetKeys) openInstant(name string, val []byte) (t, sent int64, o opened) {
	p, o := k.verify(domainRecord, name, val)
	if o != openOK {
		return 0, 0, o
	}
	if len(p) != 16 {
		return 0, 0, openUnreadable
	}
	return int64(binary.BigEndian.Uint64(p[:8])), int64(binary.BigEndian.Uint64(p[8:])), openOK
}

// A message between replicas: a kind, a 32-byte hash (the token's local key
// or the customer's user key), an instant, the sending time and the
// sender's id (its own messages come back to it).
const msgPayload = 1 + sha256.Size + 8 + 8 + 8

type message struct {
	kind   byte
	hash   [sha256.Size]byte
	t      int64
	sent   int64
	sender uint64
}

func (k *fleetKeys) signMessage(m message) []byte {
	var p [msgPayload]byte
	p[0] = m.kind
	copy(p[1:], m.hash[:])
	binary.BigEndian.PutUint64(p[33:], uint64(m.t))
	binary.BigEndian.PutUint64(p[41:], uint64(m.sent))
	binary.BigEndian.PutUint64(p[49:], m.sender)
	return k.sign(domainMessage, "", p[:])
}

func (k *fleetKeys) openMessage(val []byte) (message, opened) {
	p, o := k.verify(domainMessage, "", val)
	if o != openOK {
		return message{}, o
	}
	if len(p) != msgPayload {
		return message{}, openUnreadable
	}
	m := message{kind: p[0], t: int64(binary.BigEndian.Uint64(p[33:])),
		sent: int64(binary.BigEndian.Uint64(p[41:])), sender: binary.BigEndian.Uint64(p[49:])}
	copy(m.hash[:], p[1:33])
	return m, openOK
}
