package xsd_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

func ExampleSet_Validate() {
	set, err := xsd.Load(xsd.Config{}) // the embedded schema set
	if err != nil {
		fmt.Println(err)
		return
	}
	defer set.Close()

	soort, _ := bericht.Lookup("WMO301")
	m, _ := sample.New(1).Generate(soort, sample.Options{Afzender: "0363"})
	h, err := set.Validate(m.XML)
	fmt.Println(h.Soort, h.BerichtCode, h.Afzender, err)

	bad := strings.Replace(string(m.XML), "<wmo301:Afzender>0363<", "<wmo301:Afzender>363<", 1)
	_, err = set.Validate([]byte(bad))
	var refused *xsd.Error
	if errors.As(err, &refused) {
		v := refused.Violations[0]
		fmt.Println(refused.Code, v.Line > 0, v.Column > 0)
		fmt.Println("value in Message:", strings.Contains(v.Message, "'363'"))
		fmt.Println("value in Redacted:", strings.Contains(v.Redacted, "363"))
	}
	// Output:
	// iwmo 3.2 WMO301 414 0363 <nil>
	// xsd-invalid true true
	// value in Message: true
	// value in Redacted: false
}
