// Package safetensors writes the safetensors files quarry's converters
// produce (tools/convert-use, tools/convert-glove): little-endian tensors
// after a JSON header, byte-for-byte deterministic for the same input, so
// their SHA-256 can be pinned in tests.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tensor is one named tensor: of float values, stored as F16 when Half is
// set and as F32 otherwise, or, when Int8 is set, of those int8 values
// (stored as I8; Values and Half are ignored).
type Tensor struct {
	Name   string
	Shape  []int
	Values []float32
	Half   bool
	Int8   []int8
}

// Encode returns the file holding tensors (in name order) and metadata.
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	type hdrEntry struct {
		Dtype   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	hdr := map[string]any{}
	var body []byte
	tensors = slices.Clone(tensors)
	slices.SortFunc(tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		count := len(t.Values)
		if t.Int8 != nil {
			count = len(t.Int8)
		}
		if count != n {
			return nil, fmt.Errorf("tensor %s: %d values for shape %v", t.Name, count, t.Shape)
		}
		start := len(body)
		dtype := "F32"
		switch {
		case t.Int8 != nil:
			dtype = "I8"
			for _, x := range t.Int8 {
				body = append(body, byte(x))
			}
		case t.Half:
			dtype = "F16"
			for _, x := range t.Values {
				body = binary.LittleEndian.AppendUint16(body, FloatToHalf(x))
			}
		default:
			for _, x := range t.Values {
				body = binary.LittleEndian.AppendUint32(body, math.Float32bits(x))
			}
		}
		hdr[t.Name] = hdrEntry{dtype, t.Shape, [2]int{start, len(body)}}
	}
	if metadata != nil {
		hdr["__metadata__"] = metadata
	}
	hb, err := json.Marshal(hdr) // map keys are sorted: deterministic
	if err != nil {
		return nil, err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	return append(append(file, hb...), body...), nil
}

// FloatToHalf rounds f to the nearest IEEE 754 binary16 value (ties to
// even), with overflow to infinity and gradual underflow.
func FloatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal
		h := uint32(exp-127+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, which is still correct
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal
		mant |= 0x800000
		shift := uint(-14-(exp-127)) + 13
		h := mant >> shift
		rest := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}
