package parse

import "time"

// Defaults of Options.
const (
	// DefaultMaxTextBytes is Options.MaxTextBytes's default: 64 MiB of
	// extracted text, well over the 5,000,000 tokens a store accepts.
	DefaultMaxTextBytes = 64 << 20
	// DefaultMaxDecompressedBytes is Options.MaxDecompressedBytes's
	// default.
	DefaultMaxDecompressedBytes = 256 << 20
	// DefaultTimeout is Options.Timeout's default.
	DefaultTimeout = 60 * time.Second
)

// withDefaults returns o with every zero field set to its documented default.
func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MaxFileSize <= 0 {
		d.MaxFileSize = 512 << 20
	}
	if d.MaxDecompressedBytes <= 0 {
		d.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if d.MaxTextBytes <= 0 {
		d.MaxTextBytes = DefaultMaxTextBytes
	}
	if d.MaxCompressionRatio <= 0 {
		d.MaxCompressionRatio = 200
	}
	if d.MaxZipEntries <= 0 {
		d.MaxZipEntries = 10000
	}
	if d.MaxXMLDepth <= 0 {
		d.MaxXMLDepth = 256
	}
	if d.MaxPages <= 0 {
		d.MaxPages = 10000
	}
	if d.Timeout <= 0 {
		d.Timeout = DefaultTimeout
	}
	return d
}
