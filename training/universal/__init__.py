"""Universal generalizer: one network trained on pairs (chain(x), x) with a new random imaging
chain per sample (``training.sitesim.random_chain``), for sites no model was fitted to."""
