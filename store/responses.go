package store

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketResponses holds saved responses by id; it is created on first use.
var bucketResponses = []byte("responses")

// maxResponseBytes bounds one saved response.
const maxResponseBytes = 16 << 20

// PutResponse saves data, an opaque record of a response (the server keeps
// a Responses API response and its conversation there), under id,
// replacing any record with that id. It is durable when it returns.
func (db *DB) PutResponse(ctx context.Context, id string, data []byte) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if id == "" || len(id) > 256 {
		return invalidf("response id must be 1 to 256 bytes")
	}
	if len(data) > maxResponseBytes {
		return invalidf("response record is %d bytes, more than %d", len(data), maxResponseBytes)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketResponses)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), data)
	})
	if err != nil {
		return fmt.Errorf("store: put response: %w", err)
	}
	return nil
}

// Response returns the record saved under id, or ErrNotFound. The caller
// owns the returned slice.
func (db *DB) Response(ctx context.Context, id string) ([]byte, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	var out []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketResponses); b != nil {
			if v := b.Get([]byte(id)); v != nil {
				out = append([]byte(nil), v...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get response: %w", err)
	}
	if out == nil {
		return nil, notFound("response", id)
	}
	return out, nil
}

// DeleteResponse removes the record saved under id, or returns
// ErrNotFound.
func (db *DB) DeleteResponse(ctx context.Context, id string) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResponses)
		if b == nil || b.Get([]byte(id)) == nil {
			return notFound("response", id)
		}
		return b.Delete([]byte(id))
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: delete response: %w", err)
	}
	return err
}
