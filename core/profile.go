package core

// Profile is the Amazon customer profile of a verified access token, as
// returned by Login with Amazon's profile endpoint.
//
// Which fields are filled depends on the scopes the customer granted:
// "profile" gives UserID, Email and Name; "profile:user_id" gives UserID
// only; "postal_code" adds PostalCode. UserID is always present on a
// verified profile. It is stable and unique per customer (within one
// company's apps) and is the key to link a local account: never the email.
type Profile struct {
	UserID     string `json:"user_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	PostalCode string `json:"postal_code"`
}
