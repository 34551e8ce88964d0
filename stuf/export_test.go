package stuf

// RecordDi01 exposes recordDi01 to the package's external tests.
var RecordDi01 = recordDi01
