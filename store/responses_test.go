package store

import (
	"context"
	"errors"
	"testing"
)

func TestResponses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	if _, err := db.Response(ctx, "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Response before any put = %v, want ErrNotFound", err)
	}
	if err := db.PutResponse(ctx, "resp_1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutResponse(ctx, "", []byte(`{}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutResponse with no id = %v, want ErrInvalid", err)
	}
	db.Close()
	db = openTest(t, dir, Options{})
	got, err := db.Response(ctx, "resp_1")
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Response after reopen = %q, %v", got, err)
	}
	if err := db.DeleteResponse(ctx, "resp_1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteResponse(ctx, "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteResponse = %v, want ErrNotFound", err)
	}
	if _, err := db.Response(ctx, "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Response after delete = %v, want ErrNotFound", err)
	}
	db.Close()
	if err := db.PutResponse(ctx, "resp_2", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("PutResponse after Close = %v, want ErrClosed", err)
	}
}
