package parse

import "time"

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
		d.MaxDecompressedBytes = 1 << 30
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
		d.Timeout = 60 * time.Second
	}
	return d
}
