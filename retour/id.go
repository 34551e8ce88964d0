package retour

import (
	"strings"
	"sync"
	"time"
)

// NewIdentificatie returns a new identification for an answer the switch
// sends: "K" and 11 base-36 digits, 12 characters, the most LDT_IdentificatieBericht
// allows. The digits encode the millisecond since 2020 (42 bits) and a
// 14-bit sequence within it, so identifications never repeat within a
// process and keep increasing across restarts unless the clock goes back;
// the leading K tells them apart from the counters senders use.
func NewIdentificatie() string {
	ids.mu.Lock()
	ms := uint64(max(time.Since(idEpoch).Milliseconds(), 0))
	v := ms << 14
	if v <= ids.last {
		v = ids.last + 1 // same millisecond, or the clock went back
	}
	ids.last = v
	ids.mu.Unlock()

	var b [12]byte
	b[0] = 'K'
	for i := 11; i > 0; i-- {
		b[i] = base36[v%36]
		v /= 36
	}
	return string(b[:])
}

const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

var idEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

var ids struct {
	mu   sync.Mutex
	last uint64
}

// identificatie returns id, or a new one when id is empty, refusing what
// LDT_IdentificatieBericht would: more than 12 characters, or only blanks.
func identificatie(id string) (string, error) {
	if id == "" {
		return NewIdentificatie(), nil
	}
	if len([]rune(id)) > 12 || strings.TrimSpace(id) == "" {
		return "", errorf(CodeBadOption, "an identificatie is 1 to 12 characters, not all blank")
	}
	return id, nil
}
