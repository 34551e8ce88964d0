package sample

import "github.com/knooppunt/knooppunt/bericht"

// Word lists for fictitious persons and addresses. Surnames, first names
// and streets are common Dutch words combined at random; no combination
// comes from a published example. Some carry diacritics, an apostrophe or
// an ampersand so the writer's escaping and UTF-8 handling are exercised.
var (
	surnames = []struct{ voorvoegsel, achternaam string }{
		{"", "Jansen"}, {"de", "Vries"}, {"van den", "Berg"}, {"", "Bakker"},
		{"", "Visser"}, {"", "Smit"}, {"", "Meijer"}, {"de", "Boer"},
		{"", "Mulder"}, {"de", "Groot"}, {"", "Bos"}, {"", "Vos"},
		{"", "Peters"}, {"", "Hendriks"}, {"van", "Leeuwen"}, {"", "Dekker"},
		{"", "Brouwer"}, {"de", "Wit"}, {"", "Dijkstra"}, {"van der", "Meer"},
		{"", "Öztürk"}, {"", "Çelik"}, {"", "El Amrani"}, {"", "Nguyễn"},
		{"d'", "Ancona"}, {"", "Kok"}, {"ter", "Horst"}, {"", "Wijnands"},
	}
	firstNames = []string{
		"Anna", "Daan", "Emma", "Sem", "Julia", "Lucas", "Sophie", "Finn",
		"Noor", "Levi", "Mila", "Bram", "Fenna", "Thijs", "Zoë", "Ömer",
		"Aïsha", "Joris", "Ilse", "Mohamed", "Eline", "Ruben", "Chloé", "Kees",
	}
	streets = []string{
		"Kerkstraat", "Schoolstraat", "Molenweg", "Dorpsstraat", "Stationsweg",
		"Julianalaan", "Beatrixstraat", "Lindelaan", "Eikenlaan", "Burg. de Withstraat",
		"Wilhelminakade", "Nieuwe Binnenweg", "Sint Jansplein", "Achter 't Veer",
	}
	// places maps the default gemeenten to a place and a postcode range.
	places = map[string]struct {
		name   string
		lo, hi int
	}{
		"0363": {"Amsterdam", 1011, 1109},
		"0384": {"Diemen", 1111, 1115},
		"0599": {"Rotterdam", 3011, 3089},
	}
	comments = []string{
		"Synthetisch testbericht",
		"Ondersteuning 2x per week & evaluatie na <3 mnd",
		"Afspraken volgens \"plan van aanpak\"",
		"Cliënt heeft voorkeur voor ochtenden",
	}
)

// unit is an Eenheid with the Frequenties allowed with it (CS338: Eenheid
// 14, 16, 83 and 84 only with Frequentie 2, 4 or 6), a volume range per
// frequentie and a tarief range in eurocent per unit.
type unit struct {
	eenheid            string
	frequenties        []string
	lo, hi             int // volume per week (2), per month (4) or in total (6); per day (1) is scaled down
	tariefLo, tariefHi int
}

var (
	uur      = unit{"04", []string{"2", "4"}, 1, 12, 5500, 8500}
	minuut   = unit{"01", []string{"1", "2"}, 30, 600, 90, 140}
	etmaal   = unit{"14", []string{"4", "6"}, 4, 31, 12000, 30000}
	dagdeel  = unit{"16", []string{"2", "4"}, 1, 10, 3500, 6000}
	output   = unit{"82", []string{"6"}, 1, 3, 20000, 150000}
	euro     = unit{"83", []string{"4", "6"}, 10000, 300000, 0, 0}
	stuks    = unit{"84", []string{"2", "4"}, 1, 10, 2000, 6000}
	catalogs = map[bericht.Standard][]productKind{
		bericht.IWmo: {
			{"01", []unit{uur, minuut}}, {"02", []unit{uur, dagdeel}}, {"03", []unit{uur}},
			{"04", []unit{etmaal}}, {"06", []unit{uur}}, {"07", []unit{dagdeel}},
			{"08", []unit{stuks}}, {"10", []unit{euro}}, {"14", []unit{output}},
			{"15", []unit{etmaal}}, {"16", []unit{etmaal}},
		},
		bericht.IJw: {
			{"40", []unit{uur}}, {"41", []unit{dagdeel}}, {"42", []unit{stuks}},
			{"43", []unit{etmaal}}, {"44", []unit{etmaal}}, {"45", []unit{uur, minuut}},
			{"46", []unit{etmaal}}, {"47", []unit{stuks}}, {"48", []unit{stuks}},
			{"50", []unit{euro}}, {"54", []unit{minuut, uur}}, {"55", []unit{output}},
		},
	}
	// redenBeeindiging lists the codes of each standard's LDT_RedenBeeindiging.
	redenBeeindiging = map[bericht.Standard][]string{
		bericht.IWmo: {"02", "19", "20", "21", "22", "23", "31", "36", "37", "38", "39"},
		bericht.IJw:  {"02", "20", "31", "32", "33", "34", "35", "36", "37", "38", "39"},
	}
	soortRelatie  = []string{"03", "04", "07", "09", "10", "11", "12", "14", "15", "16", "17", "21"}
	typeVerwijzer = []string{"01", "02", "03", "04", "05", "06", "08"}
)

// productKind is a ProductCategorie with the units it is delivered in.
type productKind struct {
	categorie string
	units     []unit
}
