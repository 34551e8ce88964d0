package conformance

import (
	"fmt"

	"github.com/knooppunt/knooppunt/routing"
)

// The level-3 check of 305 and 307 lines against earlier aanleveringen
// (TR063, TR074; docs/rules.md), which a switch makes only for the
// gemeenten whose registry entry asks for it (check_aanleveringen).
const (
	// FeatureAanleveringen: the target checks the aanleveringen of the
	// 305s and 307s sent to gemeente AanleveringenParty.
	FeatureAanleveringen = "aanleveringen"
	// AanleveringenParty is the gemeente the aanleveringen cases send to.
	// The dev registry does not have it: a gemeente with the check on
	// would make every dev node on JetStream need a ledger secret.
	AanleveringenParty = "0518"
)

func init() {
	missing[FeatureAanleveringen] = "needs a target that checks the aanleveringen (TR063, TR074) of gemeente " + AanleveringenParty +
		" (check_aanleveringen in its registry): runs in-process, or over --target with --feature aanleveringen"
}

// SwitchRegistry is the registry of a run's in-process switch: the dev
// registry (routing.DevConfig) and gemeente AanleveringenParty, which has
// check_aanleveringen on and authenticates with the token
// "dev-"+AanleveringenParty like the dev parties.
func SwitchRegistry() (*routing.Registry, error) {
	cfg := routing.DevConfig()
	cfg.Parties = append(cfg.Parties, routing.PartyConfig{
		Code: AanleveringenParty, Role: routing.Gemeente, Name: "Gemeente 's-Gravenhage (checks its aanleveringen)",
		Credentials:        routing.Credentials{TokenSHA256: []string{routing.TokenDigest("dev-" + AanleveringenParty)}},
		CheckAanleveringen: true,
	})
	reg, err := routing.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("conformance: the in-process switch's registry: %w", err)
	}
	return reg, nil
}
