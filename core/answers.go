package core

// tokenInfoAnswer is tokeninfo's documented answer. Pointers tell a missing
// member from a zero one: aud, user_id and exp are required; iat and app_id
// are read when present.
type tokenInfoAnswer struct {
	UserID *string
	Aud    *string
	Exp    *int64 // seconds remaining
	Iat    *int64 // Unix time of issue
	AppID  *string
}

func (t *tokenInfoAnswer) fields() map[string]any {
	return map[string]any{"user_id": &t.UserID, "aud": &t.Aud, "exp": &t.Exp, "iat": &t.Iat, "app_id": &t.AppID}
}

// profileAnswer is the profile endpoint's documented answer; user_id is
// required, the rest depends on the scopes granted.
type profileAnswer struct {
	UserID, Email, Name, PostalCode *string
}

func (p *profileAnswer) fields() map[string]any {
	return map[string]any{"user_id": &p.UserID, "email": &p.Email, "name": &p.Name, "postal_code": &p.PostalCode}
}
