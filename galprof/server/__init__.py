"""The paper's private/public split: `galprof serve` (app.py) runs the accurate tier for public photos;
`galprof scan --remote` (client.py) decides privacy on the device first and sends only public frames."""
