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

// idGen hands out strictly increasing ids. It is not safe for concurrent
// use: only the committer goroutine calls it.
type idGen struct {
	last ID
	rand func([]byte)
}

// next returns an id greater than every id returned before and than the
// floor set at Open.
func (g *idGen) next(now time.Time) ID {
	ms := uint64(now.UnixMilli())
	lastMS := uint64(g.last[0])<<40 | uint64(g.last[1])<<32 | uint64(g.last[2])<<24 | uint64(g.last[3])<<16 | uint64(g.last[4])<<8 | uint64(g.last[5])
	var id ID
	if ms > lastMS {
		id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
		g.rand(id[6:])
		id[6] &= 0x7f // leave room to increment within the millisecond
	} else {
		// Same millisecond, or the clock went back: count on from last.
		id = g.last
		for i := len(id) - 1; i >= 0; i-- {
			id[i]++
			if id[i] != 0 {
				break
			}
		}
	}
	g.last = id
	return id
}
