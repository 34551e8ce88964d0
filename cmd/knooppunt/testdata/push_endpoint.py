"""A gemeente's push endpoint for tests: takes the switch's pushed StUF-GGk
requests and answers each with a Bv03 that zeep builds from the official WSDL.

Every request body is saved as DIR/push-N.xml for the test to verify (with
xmlsec1); the Bv03 names the switch as ontvanger and carries the request's
referentienummer as its crossRefnummer. The port it listens on is written to
PORT_FILE once it listens.

usage: push_endpoint.py WSDL DIR PORT_FILE [PORT]
Without PORT it listens on a free port of 127.0.0.1.
"""

import datetime
import http.server
import itertools
import os
import sys
import uuid

from lxml import etree
from zeep import Client

STUF = "http://www.egem.nl/StUF/StUF0301"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def main():
    wsdl, out_dir, port_file = sys.argv[1:4]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    client = Client(wsdl)
    bv03 = client.get_element("{%s}Bv03Bericht" % STUF)
    counter = itertools.count(1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with open(os.path.join(out_dir, "push-%d.xml" % next(counter)), "wb") as f:
                f.write(body)
            request = etree.fromstring(body)
            sg = request.find("{%s}Body" % SOAP)[0].find("{*}stuurgegevens")

            def party(name):
                p = sg.find("{%s}%s" % (STUF, name))
                return {c.tag.split("}")[1]: c.text for c in p}

            value = bv03(
                stuurgegevens={
                    "berichtcode": "Bv03",
                    "zender": party("ontvanger"),
                    "ontvanger": party("zender"),
                    "referentienummer": str(uuid.uuid4()),
                    "tijdstipBericht": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17],
                    "crossRefnummer": sg.find("{%s}referentienummer" % STUF).text,
                }
            )
            envelope = etree.Element("{%s}Envelope" % SOAP, nsmap={"soap": SOAP})
            bv03.render(etree.SubElement(envelope, "{%s}Body" % SOAP), value)
            answer = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
