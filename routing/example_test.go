package routing_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/routing"
)

// A verzoek om toewijzing to gemeente 0606 goes to the mailbox of the
// samenwerkingsverband that handles it; its retour goes back to the
// aanbieder, found through the heenbericht.
func ExampleRegistry_Route() {
	reg := routing.DevRegistry()
	ctx := context.Background()

	aanbieder, _ := reg.ByToken("dev-42420001")
	wmo315, _ := bericht.Lookup("WMO315")
	heen := bericht.Header{Soort: wmo315, Afzender: "42420001", Ontvanger: "0606", Identificatie: "VOT-1", Dagtekening: "2026-11-28"}
	d, err := reg.Route(ctx, aanbieder, heen, nil)
	fmt.Println(d.Recipient, d.Mailbox, err)

	// The store's conversation index, here a single heenbericht.
	lookup := func(_ context.Context, k routing.HeenKey) (routing.HeenRef, bool, error) {
		if k == (routing.HeenKey{Sender: "42420001", Berichtsoort: "WMO315", Identificatie: "VOT-1", Dagtekening: "2026-11-28"}) {
			return routing.HeenRef{ID: "m-1", Sender: "42420001", Recipient: d.Mailbox}, true, nil
		}
		return routing.HeenRef{}, false, nil
	}
	isd, _ := reg.ByToken("dev-swv-demo-isd")
	wmo316, _ := bericht.Lookup("WMO316")
	retour := heen // a retour copies the heen header
	retour.Soort, retour.IdentificatieRetour = wmo316, "R-1"
	d, err = reg.Route(ctx, isd, retour, lookup)
	fmt.Println(d.Recipient, d.Mailbox, d.HeenID, d.OnBehalf, err)

	// The aanbieder cannot answer its own request.
	_, err = reg.Route(ctx, aanbieder, retour, lookup)
	var rerr *routing.Error
	if errors.As(err, &rerr) {
		fmt.Println(rerr.Code, rerr.Code.Status())
	}
	// Output:
	// 0606 swv-demo-isd <nil>
	// 42420001 42420001 m-1 true <nil>
	// wrong-direction 422
}
