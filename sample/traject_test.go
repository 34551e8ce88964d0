package sample

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

func TestTraject(t *testing.T) {
	set := loadSchemas(t)
	for _, std := range []bericht.Standard{bericht.IWmo, bericht.IJw} {
		for seed := range 30 {
			einde := time.Date(2026, time.Month(1+seed%12), 1+seed%28, 0, 0, 0, 0, time.UTC)
			msgs, err := New(int64(seed)).Traject(std, TrajectOptions{Einde: einde, Products: 1 + seed%3})
			require.NoError(t, err)
			var names []int
			for _, m := range msgs {
				names = append(names, m.Soort.Number)
				require.Equal(t, std, m.Soort.Standard)
				require.NoError(t, set.validate(m.Soort, m.XML), "%s seed %d\n%s", m.Soort.Name, seed, m.XML)
			}
			require.Equal(t, []int{315, 316, 301, 302, 305, 306, 323, 325, 307, 308}, names)

			byNr := map[int]map[string][]string{}
			for _, m := range msgs {
				byNr[m.Soort.Number] = leaves(t, m.XML)
			}
			// One client throughout (TR304).
			bsn := byNr[315]["Bsn"][0]
			for _, n := range []int{301, 305, 307, 323} {
				assert.Equal(t, []string{bsn}, byNr[n]["Bsn"], "%d", n)
			}
			// The 301 honours the 315 (TR379); 305, 307, 323 refer to the 301.
			assert.Equal(t, byNr[315]["ReferentieAanbieder"], byNr[301]["ReferentieAanbieder"])
			nummers := byNr[301]["ToewijzingNummer"]
			assert.Len(t, nummers, 1+seed%3)
			for _, n := range []int{305, 307, 323} {
				assert.Equal(t, nummers, byNr[n]["ToewijzingNummer"], "%d", n)
			}
			assert.Equal(t, byNr[301]["Code"], byNr[323]["ProductCode"])
			assert.Equal(t, byNr[301]["Eenheid"], byNr[323]["Eenheid"])
			for i := range nummers {
				// TR307/TR308: ProductPeriode within the allocation.
				assert.GreaterOrEqual(t, byNr[323]["Begindatum"][i+1], byNr[301]["Ingangsdatum"][i])
				assert.LessOrEqual(t, byNr[323]["Einddatum"][i+1], byNr[301]["Einddatum"][i])
				// TR321: the delivered volume fits the allocated one.
				assert.LessOrEqual(t, atoi(t, byNr[323]["GeleverdVolume"][i]), atoi(t, byNr[301]["Volume"][i]))
				// The stop ends the start that began it (TR382).
				assert.Equal(t, byNr[305]["Begindatum"][i], byNr[307]["Begindatum"][i])
				assert.LessOrEqual(t, byNr[307]["Begindatum"][i], byNr[307]["Einddatum"][i])
			}
			// Dates in order, none after Einde.
			var dates []string
			for _, m := range msgs {
				if !m.Soort.Answers() {
					dates = append(dates, m.Header.Dagtekening)
				}
			}
			assert.True(t, slices.IsSorted(dates), dates)
			assert.Equal(t, einde.Format(dateLayout), dates[len(dates)-1])
			// Parties: the aanbieder sends 315, 305, 323, 307; the gemeente 301.
			assert.Equal(t, msgs[0].Header.Sender(), msgs[4].Header.Sender())
			assert.Equal(t, msgs[0].Header.Recipient(), msgs[2].Header.Sender())
		}
	}
}

func TestTrajectDefaults(t *testing.T) {
	msgs, err := New(1).Traject(bericht.IJw, TrajectOptions{Gemeente: "0599", Aanbieder: "12345678"})
	require.NoError(t, err)
	require.Len(t, msgs, 10)
	today := time.Now().UTC().Format(dateLayout)
	for _, m := range msgs {
		assert.LessOrEqual(t, m.Header.Dagtekening, today)
		parties := []string{m.Header.Afzender, m.Header.Ontvanger}
		assert.ElementsMatch(t, []string{"0599", "12345678"}, parties, m.Soort.Name)
	}
	_, err = New(1).Traject("wlz", TrajectOptions{})
	require.ErrorContains(t, err, "unknown standard")
}
