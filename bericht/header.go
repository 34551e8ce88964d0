package bericht

// Header is the typed view of a message header that routing, the store and
// the retour builder work with. Values are the element texts as sent,
// after XSD validation; an element the berichtsoort lacks is empty.
type Header struct {
	Soort Soort

	BerichtCode          string
	Afzender             string // CBS gemeentecode (4 digits) or AGB code (8 digits)
	Ontvanger            string
	Identificatie        string // BerichtIdentificatie/Identificatie, 1–12 characters
	Dagtekening          string // BerichtIdentificatie/Dagtekening, YYYY-MM-DD
	BasisschemaXsdVersie string // XsdVersie/BasisschemaXsdVersie
	BerichtXsdVersie     string // XsdVersie/BerichtXsdVersie

	// Retourberichten only: the retour's own identification.
	IdentificatieRetour string
	DagtekeningRetour   string

	// Declaratie-antwoord (325) only: the 323 it answers.
	DeclaratieIdentificatie string
	DeclaratieDagtekening   string
}

// Sender is the code of the party that sent the message: the header's
// Afzender, or for a retourbericht (whose header is copied from its
// heenbericht) the Ontvanger.
func (h Header) Sender() string {
	if h.Soort.Retour {
		return h.Ontvanger
	}
	return h.Afzender
}

// Recipient is the code of the party the message is for, by the same rule
// as Sender.
func (h Header) Recipient() string {
	if h.Soort.Retour {
		return h.Afzender
	}
	return h.Ontvanger
}
