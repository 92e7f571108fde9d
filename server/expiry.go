package server

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// Files uploaded with expires_after, as OpenAI's: {anchor: "created_at",
// seconds: 3600..2592000}, sent as the multipart fields
// expires_after[anchor] and expires_after[seconds]. Past expires_at the
// File is deleted as DELETE /v1/files/{id} deletes it: the upload and its
// copy in every vector store.
//
// Uploads live in the server's uploads/index.json for now, so the server
// reclaims them: before it serves any /v1/ request, once the earliest
// expires_at has passed (a check of one number otherwise). An expired
// upload is thus gone before any request could see it, and expires_at,
// kept in index.json, survives restarts.

// Bounds of expires_after.seconds, as OpenAI's (1 hour to 30 days).
const (
	minFileExpiry = 3600
	maxFileExpiry = 2592000
)

// fileExpiry reads the expires_after fields of an upload created at
// createdAt and returns its expires_at, or nil for none.
func fileExpiry(fields map[string]string, createdAt int64) (*int64, error) {
	anchor, hasAnchor := fields["expires_after[anchor]"]
	secs, hasSecs := fields["expires_after[seconds]"]
	if !hasAnchor && !hasSecs {
		return nil, nil
	}
	if anchor != "created_at" {
		return nil, invalid("expires_after.anchor", "invalid 'expires_after.anchor': expected \"created_at\", got %q", anchor)
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < minFileExpiry || n > maxFileExpiry {
		return nil, invalid("expires_after.seconds", "invalid 'expires_after.seconds': expected an integer between %d and %d, got %q",
			minFileExpiry, maxFileExpiry, secs)
	}
	at := createdAt + n
	return &at, nil
}

// expiresSoon lowers the time of the next reclamation to at (unless no
// scan ran yet: the first one reads every upload).
func (s *server) expiresSoon(at int64) {
	for {
		due := s.uploadsDue.Load()
		if due == 0 || due <= at {
			return
		}
		if s.uploadsDue.CompareAndSwap(due, at) {
			return
		}
	}
}

// expireUploads deletes the uploads past their expires_at, if the
// earliest one is due (uploadsDue: 0 until the first scan, MaxInt64 when
// none expires). One call reclaims at a time; the others go on.
func (s *server) expireUploads(ctx context.Context) {
	now := s.now().Unix()
	if due := s.uploadsDue.Load(); due != 0 && now < due {
		return
	}
	if !s.expireMu.TryLock() {
		return
	}
	defer s.expireMu.Unlock()
	// Uploads created from here on lower uploadsDue themselves; the scan
	// below sees every one created before.
	s.uploadsDue.Store(math.MaxInt64)
	all, err := s.uploads.all()
	if err != nil {
		s.log.Error("expiring uploads", "err", err)
		s.expiresSoon(now + 60)
		return
	}
	next := int64(math.MaxInt64)
	for _, up := range all {
		if up.ExpiresAt == nil {
			continue
		}
		if *up.ExpiresAt > now {
			next = min(next, *up.ExpiresAt)
			continue
		}
		if _, err := s.removeUpload(ctx, up.ID); err != nil {
			s.log.Error("expiring upload", "file_id", up.ID, "err", err)
			next = now + 60 // try again in a minute
		}
	}
	s.expiresSoon(next)
}

// removeUpload deletes the upload with id and, as OpenAI does, its copy in
// every vector store; ok is false if there is no such upload.
func (s *server) removeUpload(ctx context.Context, id string) (ok bool, err error) {
	links, ok, err := s.uploads.remove(id)
	if err != nil || !ok {
		return ok, err
	}
	for vsID, fileID := range links {
		vs, err := s.db.VectorStore(vsID)
		if err == nil {
			err = vs.DeleteFile(ctx, fileID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return true, err
		}
	}
	return true, nil
}

func defaultNow() time.Time { return time.Now() }
