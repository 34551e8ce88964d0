"""Send a signed ggk_Di01 to a StUF-GGk endpoint with zeep and the official WSDL.

A client the switch's authors did not write: zeep builds the SOAP request from
the StUF-GGk 2.1 WSDL and its schemas, and signs it with WS-Security
(BinarySecurityToken, RSA-SHA256, a Timestamp) through python-xmlsec. The
envelope's content (stuurgegevens, the message) is read from a file and
parsed by zeep against the WSDL's types, so zeep serialises it itself.

usage: zeep_di01.py WSDL ENDPOINT TOKEN CERT KEY DI01_FILE [tamper]
With tamper, one character of the signed body is changed after signing.
Prints the HTTP status on the first line, then the response body.
"""

import datetime
import sys

import requests
import xmlsec
from lxml import etree
from zeep import Client, Settings
from zeep.transports import Transport
from zeep.wsse.signature import BinarySignature
from zeep.wsse.utils import WSU, get_security_header

GGK = "http://www.stufstandaarden.nl/sectormodel/ggk/0210"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


class Timestamp:
    """Adds a wsu:Timestamp to the Security header, for the signature to cover."""

    def apply(self, envelope, headers):
        now = datetime.datetime.now(datetime.timezone.utc)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        get_security_header(envelope).append(
            WSU.Timestamp(
                WSU.Created(now.strftime(fmt)),
                WSU.Expires((now + datetime.timedelta(minutes=5)).strftime(fmt)),
            )
        )
        return envelope, headers

    def verify(self, envelope):
        return envelope


class Tamper:
    """Changes the referentienummer in the body after it was signed."""

    def apply(self, envelope, headers):
        node = envelope.find(".//{http://www.egem.nl/StUF/StUF0301}referentienummer")
        node.text = node.text[:-1] + ("1" if node.text.endswith("0") else "0")
        return envelope, headers

    def verify(self, envelope):
        return envelope


def main():
    wsdl, endpoint, token, cert, key, di01_file = sys.argv[1:7]
    tamper = sys.argv[7:] == ["tamper"]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    client = Client(
        wsdl,
        transport=Transport(session=session),
        settings=Settings(strict=True, raw_response=True),
        wsse=[
            Timestamp(),
            BinarySignature(
                key,
                cert,
                signature_method=xmlsec.Transform.RSA_SHA256,
                digest_method=xmlsec.Transform.SHA256,
            ),
        ]
        + ([Tamper()] if tamper else []),
    )
    service = client.create_service("{%s}SOAPOntvangAsynchroon" % GGK, endpoint)
    body = etree.parse(di01_file).find("{%s}Body" % SOAP)[0]
    element = client.get_element("{%s}envelopHeenbericht-ggk_Di01" % GGK)
    value = element.parse(body, client.wsdl.types)
    response = service.ggk_Di01(**{name: value[name] for name in value})
    sys.stdout.write("%d\n" % response.status_code)
    sys.stdout.write(response.text)


if __name__ == "__main__":
    main()
