package vspclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Checker holds HTTP traffic against VECOZO's VSP OpenAPI descriptions. Its
// Transport validates every request and response that passes through it
// and records what does not match the descriptions, instead of failing the
// round trip, so a test can drive a server with any client and then read
// Failures, Seen and Unexercised.
//
// Operations are found by path alone: each description's servers are
// reduced to their paths, so the switch may serve them on any scheme and host.
type Checker struct {
	// StrictStatus makes a response status that the operation does not
	// list a failure. Without it such a response (401, 429, 503, ...) is
	// recorded in Undocumented and need only carry JSON problem details.
	// Set it before the first request.
	StrictStatus bool

	routers    []routers.Router
	documented map[string][]int                  // operationId → the statuses its description lists
	subtypes   map[string]*subtypes              // operationId → how to check its polymorphic JSON body
	formats    []openapi3.SchemaValidationOption // for every schema check

	mu           sync.Mutex
	failures     []string
	seen         map[string]map[int]bool
	undocumented []string
}

// NewChecker loads and validates the OpenAPI descriptions (JSON or YAML
// files) the traffic must match. Operation ids must be unique across them.
func NewChecker(descriptions ...string) (*Checker, error) {
	if len(descriptions) == 0 {
		return nil, errors.New("vspclient: no descriptions")
	}
	c := &Checker{
		documented: make(map[string][]int),
		subtypes:   make(map[string]*subtypes),
		seen:       make(map[string]map[int]bool),
		formats: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidators(stringFormats),
			openapi3.DisableSchemaErrorDetails(), // a failure names the path and the reason, not whole schemas
		},
	}
	for _, path := range descriptions {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("vspclient: load %s: %w", path, err)
		}
		// The Pull description's Zoekpad discriminator lists its values under
		// "enum", which OpenAPI's Discriminator Object does not have; it says
		// nothing the mapping does not, so it is let through.
		if err := doc.Validate(loader.Context, openapi3.AllowExtraSiblingFields("enum")); err != nil {
			return nil, fmt.Errorf("vspclient: %s: %w", path, err)
		}
		servers, err := pathOnly(doc.Servers)
		if err != nil {
			return nil, fmt.Errorf("vspclient: %s: %w", path, err)
		}
		doc.Servers = servers
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("vspclient: %s: %w", path, err)
		}
		c.routers = append(c.routers, router)
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				if op.OperationID == "" {
					return nil, fmt.Errorf("vspclient: %s: an operation has no operationId", path)
				}
				if _, dup := c.documented[op.OperationID]; dup {
					return nil, fmt.Errorf("vspclient: %s: operationId %s is not unique", path, op.OperationID)
				}
				var statuses []int
				for key := range op.Responses.Map() {
					if code, err := strconv.Atoi(key); err == nil {
						statuses = append(statuses, code)
					}
				}
				slices.Sort(statuses)
				c.documented[op.OperationID] = statuses
				if st := polymorphicBody(doc, op); st != nil {
					c.subtypes[op.OperationID] = st
				}
			}
		}
	}
	return c, nil
}

// stringFormats are the string formats the descriptions use that
// kin-openapi does not check by default.
var stringFormats = map[string]openapi3.StringFormatValidator{
	"uuid": openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562),
	"uri": openapi3.NewCallbackValidator(func(s string) error {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		if !u.IsAbs() {
			return errors.New("not an absolute URI")
		}
		return nil
	}),
}

// pathOnly keeps each distinct server path, without scheme and host.
func pathOnly(servers openapi3.Servers) (openapi3.Servers, error) {
	var out openapi3.Servers
	var paths []string
	for _, s := range servers {
		u, err := url.Parse(s.URL)
		if err != nil {
			return nil, fmt.Errorf("server %q: %w", s.URL, err)
		}
		if !slices.Contains(paths, u.Path) {
			paths = append(paths, u.Path)
			out = append(out, &openapi3.Server{URL: u.Path})
		}
	}
	return out, nil
}

// Transport returns a RoundTripper that checks each exchange with next.
// The caller still reads the bodies: they are buffered and restored.
func (c *Checker) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{c: c, next: next}
}

// Failures returns a line per mismatch seen so far.
func (c *Checker) Failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.failures)
}

// Seen returns, per operationId, the response statuses seen, sorted.
func (c *Checker) Seen() map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]int, len(c.seen))
	for op, codes := range c.seen {
		for code := range codes {
			out[op] = append(out[op], code)
		}
		slices.Sort(out[op])
	}
	return out
}

// Undocumented returns "operationId status" for each response whose
// status the operation does not list, in the order they came.
func (c *Checker) Undocumented() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.undocumented)
}

// Unexercised returns "operationId status" for each documented status of
// each operation that no response has had yet, sorted.
func (c *Checker) Unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for op, codes := range c.documented {
		for _, code := range codes {
			if !c.seen[op][code] {
				out = append(out, fmt.Sprintf("%s %d", op, code))
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *Checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

func (c *Checker) see(op string, status int, documented bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[op] == nil {
		c.seen[op] = make(map[int]bool)
	}
	c.seen[op][status] = true
	if !documented {
		c.undocumented = append(c.undocumented, fmt.Sprintf("%s %d", op, status))
	}
}

type transport struct {
	c    *Checker
	next http.RoundTripper
}

// InvalidRequest, as a request header, says the test sends a request that
// breaks the descriptions on purpose (to reach an error path): the request
// must then fail validation, which is not a failure, while the response is
// checked as always. The header is not sent.
const InvalidRequest = "X-Vspclient-Invalid-Request"

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := drain(req.Body)
	if err != nil {
		return nil, fmt.Errorf("vspclient: read request body: %w", err)
	}
	out := req.Clone(req.Context())
	setBody(out, req.Body, body)
	invalid := req.Header.Get(InvalidRequest) != ""
	out.Header.Del(InvalidRequest)

	in, problems := t.c.checkRequest(req, body)
	switch {
	case invalid && len(problems) == 0:
		t.c.fail("%s %s: sent as invalid, but the descriptions accept it", req.Method, req.URL.Path)
	case !invalid:
		for _, p := range problems {
			t.c.fail("%s", p)
		}
	}

	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	rbody, err := drain(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("vspclient: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(rbody))
	if in != nil {
		t.c.checkResponse(in, resp, rbody)
	}
	return resp, nil
}

// drain reads and closes a body; a nil body reads as nil.
func drain(body io.ReadCloser) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	defer body.Close()
	return io.ReadAll(body)
}

// setBody gives req a fresh reader over data, keeping an absent body absent.
func setBody(req *http.Request, orig io.ReadCloser, data []byte) {
	if orig == nil || orig == http.NoBody {
		req.Body = orig
		req.GetBody = nil
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// checkRequest finds req's operation and validates req against it. It
// returns the input for validating the response, or nil if no operation
// matches, and what is wrong with the request.
func (c *Checker) checkRequest(req *http.Request, body []byte) (*openapi3filter.RequestValidationInput, []string) {
	vreq := req.Clone(context.Background())
	setBody(vreq, req.Body, body)

	var route *routers.Route
	var params map[string]string
	for _, r := range c.routers {
		var err error
		if route, params, err = r.FindRoute(vreq); err == nil {
			break
		}
	}
	if route == nil {
		c.fail("%s %s: no operation in the descriptions", req.Method, req.URL.Path)
		return nil, nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    vreq,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			MultiError:              true,
			SkipSettingDefaults:     true,
			SchemaValidationOptions: c.formats,
		},
	}
	op := route.Operation.OperationID
	st := c.subtypes[op]
	if st != nil {
		in.Options.ExcludeRequestBody = true
	}
	var problems []string
	if err := openapi3filter.ValidateRequest(vreq.Context(), in); err != nil {
		problems = append(problems, fmt.Sprintf("%s request: %v", op, err))
	}
	if st != nil {
		if err := st.check(req.Header.Get("Content-Type"), body, c.formats); err != nil {
			problems = append(problems, fmt.Sprintf("%s request: %v", op, err))
		}
	}
	return in, problems
}

// subtypes checks a JSON body whose schema is a discriminator's base type
// without oneOf, as the Pull description's Zoekpad is. Read as plain JSON
// Schema such a body can never hold a subtype's fields: the base and every
// subtype have additionalProperties false, so the base rejects the
// subtype's fields and the subtype rejects the base's. The description
// means the subtype the discriminator names, with the fields of its allOf
// bases merged in, which is also what oapi-codegen generates; this checks that.
type subtypes struct {
	property string
	schemas  map[string]*openapi3.Schema // discriminator value → merged subtype
}

// polymorphicBody returns the subtypes of op's JSON request body, or nil if
// its schema is not a discriminator's base without oneOf or anyOf.
func polymorphicBody(doc *openapi3.T, op *openapi3.Operation) *subtypes {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	base := mt.Schema.Value
	d := base.Discriminator
	if d == nil || len(d.Mapping) == 0 || len(base.OneOf) > 0 || len(base.AnyOf) > 0 {
		return nil
	}
	st := &subtypes{property: d.PropertyName, schemas: make(map[string]*openapi3.Schema)}
	for value, ref := range d.Mapping {
		// kin-openapi leaves a mapping into its own document unresolved.
		name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
		if s := doc.Components.Schemas[name]; s != nil && s.Value != nil {
			st.schemas[value] = mergeAllOf(s.Value)
		}
	}
	return st
}

// mergeAllOf returns s with the properties and required fields of its
// allOf members folded in and allOf dropped.
func mergeAllOf(s *openapi3.Schema) *openapi3.Schema {
	out := *s
	out.AllOf = nil
	out.Discriminator = nil
	out.Properties = maps.Clone(s.Properties)
	if out.Properties == nil {
		out.Properties = make(openapi3.Schemas)
	}
	out.Required = slices.Clone(s.Required)
	for _, member := range s.AllOf {
		if member.Value == nil {
			continue
		}
		m := mergeAllOf(member.Value)
		for name, prop := range m.Properties {
			if _, ok := out.Properties[name]; !ok {
				out.Properties[name] = prop
			}
		}
		for _, name := range m.Required {
			if !slices.Contains(out.Required, name) {
				out.Required = append(out.Required, name)
			}
		}
	}
	return &out
}

func (st *subtypes) check(contentType string, body []byte, formats []openapi3.SchemaValidationOption) error {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return fmt.Errorf("request body: Content-Type %q, want application/json", contentType)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("request body: %v", err)
	}
	object, _ := value.(map[string]any)
	name, _ := object[st.property].(string)
	schema := st.schemas[name]
	if schema == nil {
		return fmt.Errorf("request body: %s %q is none of %v", st.property, name, slices.Sorted(maps.Keys(st.schemas)))
	}
	if err := schema.VisitJSON(value, append(slices.Clone(formats), openapi3.MultiErrors())...); err != nil {
		return fmt.Errorf("request body as %s: %v", name, err)
	}
	return nil
}

// checkResponse validates resp against the operation of in.
func (c *Checker) checkResponse(in *openapi3filter.RequestValidationInput, resp *http.Response, body []byte) {
	op := in.Route.Operation.OperationID
	ref := in.Route.Operation.Responses.Status(resp.StatusCode)
	c.see(op, resp.StatusCode, ref != nil)
	if ref == nil {
		if c.StrictStatus {
			c.fail("%s %d: status not in the description", op, resp.StatusCode)
			return
		}
		if err := problemDetails(resp.StatusCode, resp.Header, body); err != nil {
			c.fail("%s %d: status not in the description, and %v", op, resp.StatusCode, err)
		}
		return
	}
	if len(ref.Value.Content) == 0 {
		// The description says nothing of a body; allow no body or problem details.
		if len(body) > 0 {
			if err := problemDetails(resp.StatusCode, resp.Header, body); err != nil {
				c.fail("%s %d: the description gives no body, and %v", op, resp.StatusCode, err)
			}
		}
		return
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options: &openapi3filter.Options{
			MultiError:              true,
			SchemaValidationOptions: c.formats,
		},
	}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.fail("%s %d response: %v", op, resp.StatusCode, err)
	}
}

// problemDetails checks that a body is an RFC 9457 problem details object
// whose status, if given, is the response's.
func problemDetails(status int, header http.Header, body []byte) error {
	if len(body) == 0 {
		return errors.New("it has no problem details body")
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || (mt != "application/problem+json" && mt != "application/json") {
		return fmt.Errorf("the body is not problem details: Content-Type %q", header.Get("Content-Type"))
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(body, &object); err != nil || object == nil {
		return fmt.Errorf("the body is not problem details: not a JSON object")
	}
	var pd struct {
		Type     *string `json:"type"`
		Title    *string `json:"title"`
		Status   *int    `json:"status"`
		Detail   *string `json:"detail"`
		Instance *string `json:"instance"`
	}
	if err := json.Unmarshal(body, &pd); err != nil {
		return fmt.Errorf("the body is not problem details: %v", err)
	}
	if pd.Status != nil && *pd.Status != status {
		return fmt.Errorf("the problem details give status %d", *pd.Status)
	}
	return nil
}
