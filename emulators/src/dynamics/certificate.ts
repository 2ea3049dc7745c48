/**
 * The Dynamics 365 emulator's TLS identity: a self-signed certificate for 127.0.0.1 and
 * localhost (EC P-256, valid until 2126), generated once with
 *
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 \
 *     -subj "/CN=crmsync Dynamics 365 emulator" \
 *     -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
 *     -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
 *     -addext "extendedKeyUsage=serverAuth"
 *
 * MSAL only talks to https authorities, so the emulator serves HTTPS; clients trust this
 * one certificate explicitly (D365_CA_CERT), never by turning verification off. The key
 * protects nothing but a loopback test server.
 */
export const EMULATOR_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIB5zCCAY2gAwIBAgIUFBy7Lgc05mVe//55lFEBgr4/oPgwCgYIKoZIzj0EAwIw
KDEmMCQGA1UEAwwdY3Jtc3luYyBEeW5hbWljcyAzNjUgZW11bGF0b3IwIBcNMjYx
MTIyMDQ1OTE1WhgPMjEyNjEwMjkwNDU5MTVaMCgxJjAkBgNVBAMMHWNybXN5bmMg
RHluYW1pY3MgMzY1IGVtdWxhdG9yMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
NfTI1X0lRz28sbldF6x3HVvhRclTEqsowAJIQvbAb/EsyRIHJ8fYJcPHEUhC7jki
rdwu/c2bEGCpcRrlT2DPT6OBkjCBjzAdBgNVHQ4EFgQU/dVyEtZNadDxuTNNgO2R
X841IOAwHwYDVR0jBBgwFoAU/dVyEtZNadDxuTNNgO2RX841IOAwGgYDVR0RBBMw
EYcEfwAAAYIJbG9jYWxob3N0MAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeA
MBMGA1UdJQQMMAoGCCsGAQUFBwMBMAoGCCqGSM49BAMCA0gAMEUCIBqs9LTKzyUl
FaW47gYKWuinrr8bdV6UO8kdcy9PXZWaAiEA0u4N5LIbCYbhWI+Fm6V93PWHZ8ea
n7/PiUg7Sd9Ffls=
-----END CERTIFICATE-----`;

export const EMULATOR_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmFTWZMAfUUcdyRcu
bbUyo1v6WbWh8ww/l/1DrpR2tsShRANCAAQ19MjVfSVHPbyxuV0XrHcdW+FFyVMS
qyjAAkhC9sBv8SzJEgcnx9glw8cRSELuOSKt3C79zZsQYKlxGuVPYM9P
-----END PRIVATE KEY-----`;
