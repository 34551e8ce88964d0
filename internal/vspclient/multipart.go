package vspclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"

	"github.com/knooppunt/knooppunt/internal/vspclient/push"
)

// PushBody encodes a PostBericht request as the push description's
// multipart/form-data with its per-part content types: berichtMetadata as
// application/json, payload as application/octet-stream named filename.
// oapi-codegen generates the model of this body but no encoder for it.
func PushBody(meta push.BerichtMetadata, payload []byte, filename string) (contentType string, body []byte, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	write := func(name, filename, contentType string, data []byte) error {
		h := textproto.MIMEHeader{}
		disposition := map[string]string{"name": name}
		if filename != "" {
			disposition["filename"] = filename
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", disposition))
		h.Set("Content-Type", contentType)
		p, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		_, err = p.Write(data)
		return err
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return "", nil, fmt.Errorf("encoding berichtMetadata: %w", err)
	}
	if err := write("berichtMetadata", "", "application/json", raw); err != nil {
		return "", nil, fmt.Errorf("writing berichtMetadata: %w", err)
	}
	if err := write("payload", filename, "application/octet-stream", payload); err != nil {
		return "", nil, fmt.Errorf("writing payload: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", nil, fmt.Errorf("closing the multipart body: %w", err)
	}
	return w.FormDataContentType(), buf.Bytes(), nil
}
