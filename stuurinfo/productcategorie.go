package stuurinfo

// productCategorieen are the meanings of the ProductCategorie codes of
// iWmo 3.2 (01–18) and iJw 3.2 (31–55), as the codelists of the standards
// name them; the two ranges do not meet, so one table serves both.
var productCategorieen = map[string]string{
	"01": "Hulp bij het huishouden", "02": "Begeleiding", "03": "Persoonlijke verzorging",
	"04": "Kortdurend verblijf", "05": "Woondiensten",
	"06": "Overige ondersteuning gericht op het individu of huishouden/gezin", "07": "Dagbesteding",
	"08": "Vervoerdiensten", "09": "Overige groepsgerichte ondersteuning", "10": "Overige maatwerk arrangementen",
	"11": "Rolstoelen", "12": "Vervoervoorzieningen", "13": "Woonvoorzieningen", "14": "Overige hulpmiddelen",
	"15": "Beschermd wonen", "16": "Opvang", "17": "Spoedopvang", "18": "Overige beschermd wonen en opvang",

	"31": "(2015) Zonder verblijf: uitgevoerd door wijk- of buurtteam",
	"32": "(2015) Zonder verblijf: ambulante jeugdhulp op locatie van de aanbieder",
	"33": "(2015) Zonder verblijf: daghulp op locatie van de aanbieder",
	"34": "(2015) Zonder verblijf: jeugdhulp in het netwerk van de jeugdige",
	"35": "(2015) Met verblijf: pleegzorg", "36": "(2015) Met verblijf: gezinsgericht",
	"37": "(2015) Met verblijf: gesloten plaatsing", "38": "(2015) Met verblijf: overig residentieel",
	"40": "Persoonlijke verzorging", "41": "Dagbehandeling", "42": "Vervoerdiensten",
	"43": "Jeugdhulp verblijf (incl. behandeling)", "44": "Jeugdhulp verblijf (excl. behandeling)",
	"45": "Jeugdhulp ambulant", "46": "Jeugdhulp crisis", "47": "Jeugdreclassering", "48": "Jeugdbescherming",
	"49": "Activiteiten in het preventief justitieel kader", "50": "Maatwerkarrangementen jeugd",
	"51": "Generalistische basis-ggz", "52": "Specialistische ggz", "53": "Kindergeneeskunde",
	"54": "Jeugd-ggz", "55": "Landelijk ingekochte zorg",
}

// categorieText names a ProductCategorie for the dashboard: its code and
// meaning, or what a line without Product is.
func categorieText(code string) string {
	if code == "" {
		return "zonder product (budget)"
	}
	if name, ok := productCategorieen[code]; ok {
		return code + " " + name
	}
	return code
}
