package server

import "strconv"

// Files uploaded with expires_after, as OpenAI's: {anchor: "created_at",
// seconds: 3600..2592000}, sent as the multipart fields
// expires_after[anchor] and expires_after[seconds]. The store records
// expires_at with the upload and reclaims it (see store.Upload.ExpiresAt):
// past expires_at the File reads as deleted, and it is removed with its
// copy in every vector store as DELETE /v1/files/{id} removes it.

// Bounds of expires_after.seconds, as OpenAI's (1 hour to 30 days).
const (
	minFileExpiry = 3600
	maxFileExpiry = 2592000
)

// fileExpiry reads the expires_after fields of an upload: its lifetime in
// seconds, or 0 for none.
func fileExpiry(fields map[string]string) (int64, error) {
	anchor, hasAnchor := fields["expires_after[anchor]"]
	secs, hasSecs := fields["expires_after[seconds]"]
	if !hasAnchor && !hasSecs {
		return 0, nil
	}
	if anchor != "created_at" {
		return 0, invalid("expires_after.anchor", "invalid 'expires_after.anchor': expected \"created_at\", got %q", anchor)
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < minFileExpiry || n > maxFileExpiry {
		return 0, invalid("expires_after.seconds", "invalid 'expires_after.seconds': expected an integer between %d and %d, got %q",
			minFileExpiry, maxFileExpiry, secs)
	}
	return n, nil
}
