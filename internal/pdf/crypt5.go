// PATCHED (quarry): AES-256 encryption (V 5, R 5 and R 6; ISO 32000-2 §7.6.4.3).

package pdf

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

func (r *Reader) initEncryptV5(encrypt dict, password string) error {
	R, _ := encrypt["R"].(int64)
	if R != 5 && R != 6 {
		return fmt.Errorf("unsupported PDF: encryption revision R=%d", R)
	}
	O, _ := encrypt["O"].(string)
	U, _ := encrypt["U"].(string)
	OE, _ := encrypt["OE"].(string)
	UE, _ := encrypt["UE"].(string)
	if len(O) < 48 || len(U) < 48 || len(OE) < 32 || len(UE) < 32 {
		return fmt.Errorf("bad AES-256 encryption parameters")
	}
	pw := []byte(password)
	if len(pw) > 127 {
		pw = pw[:127]
	}
	hashR := func(salt, udata []byte) []byte {
		if R == 5 {
			h := sha256.New()
			h.Write(pw)
			h.Write(salt)
			h.Write(udata)
			return h.Sum(nil)
		}
		return hash2B(pw, salt, udata)
	}
	u, o := []byte(U[:48]), []byte(O[:48])
	var key []byte
	switch {
	case bytes.Equal(hashR(u[32:40], nil), u[:32]):
		key = aes256NoIV(hashR(u[40:48], nil), []byte(UE[:32]))
	case bytes.Equal(hashR(o[32:40], u), o[:32]):
		key = aes256NoIV(hashR(o[40:48], u), []byte(OE[:32]))
	default:
		return ErrInvalidPassword
	}
	if key == nil {
		return fmt.Errorf("bad AES-256 key")
	}
	r.key = key
	r.useAES = true
	r.aes256 = true
	return nil
}

// aes256NoIV decrypts data with AES-256-CBC and a zero IV, without padding.
func aes256NoIV(key, data []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(b, make([]byte, 16)).CryptBlocks(out, data)
	return out
}

// hash2B is Algorithm 2.B of ISO 32000-2.
func hash2B(pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	for i := 0; ; i++ {
		seq := make([]byte, 0, len(pw)+len(k)+len(udata))
		seq = append(append(append(seq, pw...), k...), udata...)
		k1 := bytes.Repeat(seq, 64)
		b, err := aes.NewCipher(k[:16])
		if err != nil {
			return nil
		}
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(b, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, c := range e[:16] {
			sum += int(c)
		}
		var hh hash.Hash
		switch sum % 3 {
		case 0:
			hh = sha256.New()
		case 1:
			hh = sha512.New384()
		default:
			hh = sha512.New()
		}
		hh.Write(e)
		k = hh.Sum(nil)
		if i >= 63 && int(e[len(e)-1]) <= i-32 {
			break
		}
	}
	return k[:32]
}
