package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// ID identifies a stored message. It is 16 bytes in the layout of a ULID: a
// 48-bit big-endian Unix millisecond timestamp followed by 80 bits that are
// random for the first id of a millisecond and incremented after that. The
// store hands out ids in strictly increasing order, also across restarts,
// so ids sort in arrival order. The zero ID is never assigned.
//
// Those 80 bits hold the version and variant of a UUIDv7 (RFC 9562), so
// every id assigned is also a valid UUID with the same bits (IDUUID): the
// name VECOZO's exchange API gives a message is its id, written as a UUID.
// (Ids assigned before this held random bits there.)
type ID [16]byte

// crockford is the Crockford base32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of an ID's text form.
const IDLen = 26

// String returns the 26-character Crockford base32 form, e.g.
// "01JDX4ZK9Q8R2M3N4P5Q6R7S8T".
func (id ID) String() string {
	var out [IDLen]byte
	// 128 bits in 26 groups of 5 bits: the first character carries only
	// the top 3 bits.
	hi := binary.BigEndian.Uint64(id[:8])
	lo := binary.BigEndian.Uint64(id[8:])
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Time returns the millisecond the id was assigned in.
func (id ID) Time() time.Time {
	ms := uint64(id[0])<<40 | uint64(id[1])<<32 | uint64(id[2])<<24 | uint64(id[3])<<16 | uint64(id[4])<<8 | uint64(id[5])
	return time.UnixMilli(int64(ms)).UTC()
}

// ParseID parses the 26-character text form of an ID, case-insensitively,
// accepting Crockford's aliases (O for 0, I and L for 1). It fails with
// ErrInvalid for anything else.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != IDLen {
		return id, fmt.Errorf("parsing message id: length %d, want %d: %w", len(s), IDLen, ErrInvalid)
	}
	var hi, lo uint64
	for i := 0; i < IDLen; i++ {
		v := decodeChar(s[i])
		if v < 0 {
			return id, fmt.Errorf("parsing message id: bad character at %d: %w", i, ErrInvalid)
		}
		if i == 0 && v > 7 {
			return id, fmt.Errorf("parsing message id: overflows 128 bits: %w", ErrInvalid)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id, nil
}

func decodeChar(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	}
	switch c {
	case 'O':
		return 0
	case 'I', 'L':
		return 1
	case 'U':
		return -1
	}
	for i := 10; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return -1
}

// The UUIDv7 bits of an id: the version in the high nibble of byte 6, the
// variant in the two high bits of byte 8. The 74 bits around them count.
const (
	uuidVersion7 = 0x70
	uuidVariant  = 0x80
)

// NextID returns the id that follows last at time now: the first of a new
// millisecond (random bits from rand, with room to count on), or last
// counted on by one when now is not past last's millisecond (several ids
// in one millisecond, or a clock that went back). Every id it returns is a
// UUIDv7. Both backends number their messages with it.
func NextID(last ID, now time.Time, rand func([]byte)) ID {
	ms := uint64(max(now.UnixMilli(), 0))
	lastMS := uint64(last[0])<<40 | uint64(last[1])<<32 | uint64(last[2])<<24 | uint64(last[3])<<16 | uint64(last[4])<<8 | uint64(last[5])
	if ms <= lastMS {
		if id, ok := countOn(last); ok {
			return id
		}
		ms = lastMS + 1 // last was no UUIDv7, or its counter is full
	}
	var id ID
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	rand(id[6:])
	id[6] = uuidVersion7 | id[6]&0x07 // the counter's top bit clear: room to count on
	id[8] = uuidVariant | id[8]&0x3f
	return id
}

// countOn adds one to the 74 counting bits of a UUIDv7 id; false when id
// is no UUIDv7 or the bits are all ones.
func countOn(id ID) (ID, bool) {
	if id[6]&0xf0 != uuidVersion7 || id[8]&0xc0 != uuidVariant {
		return id, false
	}
	lo := binary.BigEndian.Uint64(id[8:]) &^ (uint64(0xc0) << 56) // 62 bits
	hi := uint16(id[6]&0x0f)<<8 | uint16(id[7])                   // 12 bits
	if lo++; lo == 1<<62 {
		lo = 0
		if hi++; hi == 1<<12 {
			return id, false
		}
	}
	binary.BigEndian.PutUint64(id[8:], lo|uint64(uuidVariant)<<56)
	id[6] = uuidVersion7 | byte(hi>>8)
	id[7] = byte(hi)
	return id, true
}
