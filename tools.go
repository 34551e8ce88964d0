//go:build tools

// Package tools pins the chosen dependencies until code imports them; removed once every one is used.
package tools

import (
	_ "github.com/beevik/etree"
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/lestrrat-go/libxml2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rs/zerolog"
	_ "github.com/russellhaering/goxmldsig"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "go.yaml.in/yaml/v3"
)
