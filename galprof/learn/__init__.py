"""Learning across many users' profiles (the batch's OUTDIR): latent interests shared by users."""
