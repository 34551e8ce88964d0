package retour_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/knooppunt/knooppunt/retour"
)

// FuzzBuild feeds Build any heenbericht and codes file. It must never
// panic, and whatever it answers to a heenbericht valid against its XSD
// must be valid against the answer's XSD.
func FuzzBuild(f *testing.F) {
	cases, _ := filepath.Glob("testdata/*.heen.xml")
	for _, c := range cases {
		heen, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		codes, _ := os.ReadFile(c[:len(c)-len(".heen.xml")] + ".codes.yaml")
		f.Add(heen, codes)
	}
	f.Add([]byte("<Bericht/>"), []byte("header: [\"0001\"]"))
	set := embedded(f)
	f.Fuzz(func(t *testing.T, heen, codesFile []byte) {
		codes, err := retour.ParseCodes(codesFile)
		if err != nil {
			return
		}
		r, err := retour.Build(heen, codes, retour.Options{})
		if err != nil {
			return
		}
		if _, verr := set.Validate(heen); verr != nil {
			return
		}
		if _, err := set.Validate(r.XML); err != nil {
			t.Fatalf("the answer to a valid heenbericht is invalid: %v\n%s", err, r.XML)
		}
	})
}
