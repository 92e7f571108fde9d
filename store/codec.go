package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/embed"
)

// vsRecord is a vector store as persisted.
type vsRecord struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	CreatedAt    int64             `json:"created_at"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	ExpiresAfter *ExpiresAfter     `json:"expires_after,omitempty"`
	LastActiveAt int64             `json:"last_active_at"`
	Embedder     embed.Identity    `json:"embedder"`
	Counts       FileCounts        `json:"file_counts"`
	UsageBytes   int64             `json:"usage_bytes"`
	// VectorsSeq is the log sequence of the last Reembed: a vector graph
	// saved at an earlier sequence holds the old embedder's vectors.
	VectorsSeq uint64 `json:"vectors_seq,omitempty"`
	// LogStart is the first sequence the log still holds: entries before it
	// were applied by every derived index and checkpointed, then trimmed.
	// 0 means never trimmed.
	LogStart uint64 `json:"log_start,omitempty"`
	// Expired is set once the store has expired (see expiry.go): its files
	// are being or have been removed, and no activity revives it.
	Expired bool `json:"expired,omitempty"`
}

// chunkRecord is a chunk as persisted; its key is the chunk id. Its text
// is stored once, in the file's text (the texts bucket): a record holds
// the range, and vsBuckets.chunk fills Text in. Records written before
// that hold their Text too, and are read as they are.
type chunkRecord struct {
	FileID    string   `json:"f"`
	Index     int      `json:"i"`
	Text      string   `json:"t,omitempty"` // Prefix + the file's text at Start:End; see above
	Prefix    string   `json:"p,omitempty"` // a repeated table header, not in the file's text there
	Tokens    int      `json:"n"`
	Start     int      `json:"bs"`
	End       int      `json:"be"`
	CharStart int      `json:"cs"`
	CharEnd   int      `json:"ce"`
	PageStart int      `json:"ps,omitempty"`
	PageEnd   int      `json:"pe,omitempty"`
	Headings  []string `json:"h,omitempty"`
}

// logOp is a change to a vector store's indexed content.
type logOp string

const (
	opAdd   logOp = "add"   // (re)index the file's chunks as they are now
	opDel   logOp = "del"   // remove the chunks
	opAttrs logOp = "attrs" // the file's attributes changed
	// opVectors: every vector was recomputed (Reembed). It names no file;
	// its sequence is the store record's VectorsSeq.
	opVectors logOp = "vectors"
)

// logEntry is one change in a vector store's log; its key is the sequence.
type logEntry struct {
	Op     logOp    `json:"op"`
	FileID string   `json:"f"`
	Chunks []uint64 `json:"c,omitempty"`
}

func u64key(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func keyU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: vector of %d bytes", ErrCorrupt, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func decodeFile(b []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: file record: %v", ErrCorrupt, err)
	}
	return &f, nil
}

func decodeVS(b []byte) (*vsRecord, error) {
	var r vsRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: vector store record: %v", ErrCorrupt, err)
	}
	return &r, nil
}

func decodeChunk(b []byte) (*chunkRecord, error) {
	var c chunkRecord
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: chunk record: %v", ErrCorrupt, err)
	}
	return &c, nil
}

// chunk returns the chunk with key k, Text filled in, or nil when there is
// none.
func (b vsBuckets) chunk(k []byte) (*chunkRecord, error) {
	v := b.chunks.Get(k)
	if v == nil {
		return nil, nil
	}
	c, err := decodeChunk(v)
	if err != nil {
		return nil, err
	}
	return c, b.fillText(c)
}

// fillText sets c.Text from the file's text, unless the record carried it
// (the format before text was stored once).
func (b vsBuckets) fillText(c *chunkRecord) error {
	if c.Text != "" {
		return nil
	}
	if c.End <= c.Start {
		c.Text = c.Prefix
		return nil
	}
	t := b.texts.Get([]byte(c.FileID))
	if c.Start < 0 || c.End > len(t) {
		return fmt.Errorf("%w: chunk of %s spans %d:%d of a %d-byte text", ErrCorrupt, c.FileID, c.Start, c.End, len(t))
	}
	c.Text = c.Prefix + string(t[c.Start:c.End])
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// vsBuckets are the buckets of one vector store inside a transaction.
type vsBuckets struct {
	root, files, chunks, vectors, log, texts, pending *bolt.Bucket
}

// buckets returns the vector store's buckets, or ok == false when the
// vector store does not exist.
// fileIn returns the buckets of vector store vsID and its file id, or
// ErrNotFound naming the one that is missing.
func fileIn(tx *bolt.Tx, vsID, id string) (vsBuckets, *File, error) {
	b, ok := buckets(tx, vsID)
	if !ok {
		return b, nil, notFound("vector store", vsID)
	}
	f, err := b.file(id)
	if err == nil && f == nil {
		err = notFound("file", id)
	}
	return b, f, err
}

func buckets(tx *bolt.Tx, vsID string) (vsBuckets, bool) {
	root := tx.Bucket(bucketVS).Bucket([]byte(vsID))
	if root == nil {
		return vsBuckets{}, false
	}
	return vsBuckets{
		root:    root,
		files:   root.Bucket(bucketFiles),
		chunks:  root.Bucket(bucketChunks),
		vectors: root.Bucket(bucketVectors),
		log:     root.Bucket(bucketLog),
		texts:   root.Bucket(bucketTexts),
		pending: root.Bucket(bucketPending),
	}, true
}

func (b vsBuckets) record() (*vsRecord, error) { return decodeVS(b.root.Get(keyRecord)) }

func (b vsBuckets) file(id string) (*File, error) {
	v := b.files.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	return decodeFile(v)
}

// appendLog records a change under the DB-wide next sequence number,
// which it stores in *seq.
func (b vsBuckets) appendLog(tx *bolt.Tx, e logEntry, seq *uint64) error {
	n, err := tx.Bucket(bucketMeta).NextSequence()
	if err != nil {
		return err
	}
	*seq = n
	return putJSON(b.log, u64key(n), e)
}
