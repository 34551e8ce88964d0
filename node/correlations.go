package node

import (
	"context"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/store"
)

// correlationPort is the gateway's Correlations on the store: the ids a
// VSP client gave its messages, and message ids written as UUIDs for the
// rest.
type correlationPort struct{ s store.CorrelationStore }

// uuid reads a UUID the gateway checked already.
func uuid(s string) (store.UUID, error) {
	u, err := store.ParseUUID(s)
	if err != nil {
		return u, &gateway.Error{Kind: gateway.KindMalformed, Code: gateway.CodeBadRequest, Message: "not a UUID"}
	}
	return u, nil
}

func (cp correlationPort) Correlation(ctx context.Context, id string) (gateway.Correlation, bool, error) {
	sid, err := parseID(id)
	if err != nil {
		return gateway.Correlation{}, false, err
	}
	c, ok, err := cp.s.Correlation(ctx, sid)
	if err != nil {
		return gateway.Correlation{}, false, storeError(err)
	}
	if !ok {
		return gateway.Correlation{}, false, nil
	}
	return *gateway.CorrelationOf(&c), true, nil
}

// resolve finds the message a UUID names through lookup, else takes the
// UUID for a message id.
func (cp correlationPort) resolve(ctx context.Context, s string, lookup func(context.Context, store.UUID) (store.ID, bool, error)) (string, bool, error) {
	u, err := uuid(s)
	if err != nil {
		return "", false, nil
	}
	id, ok, err := lookup(ctx, u)
	if err != nil {
		return "", false, storeError(err)
	}
	if !ok {
		id = store.ID(u)
	}
	return id.String(), true, nil
}

func (cp correlationPort) ByTraceer(ctx context.Context, traceer string) (string, bool, error) {
	return cp.resolve(ctx, traceer, cp.s.ByTraceer)
}

func (cp correlationPort) ByConversatie(ctx context.Context, conversatie string) (string, bool, error) {
	return cp.resolve(ctx, conversatie, cp.s.ByConversatie)
}

func (cp correlationPort) UUID(id string) string {
	sid, err := store.ParseID(id)
	if err != nil {
		return ""
	}
	return store.IDUUID(sid).String()
}

func (cp correlationPort) ID(u string) string {
	su, err := store.ParseUUID(u)
	if err != nil {
		return ""
	}
	return store.ID(su).String()
}
