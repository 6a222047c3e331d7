"""Site-shift simulator: re-image a reference radiograph through another site's imaging chain.

>>> from training.sitesim import load_site_profile, apply_site
>>> shifted = apply_site(image, load_site_profile("site_severe"), seed=0)  # doctest: +SKIP
"""

from .augment import random_profile
from .pairs import SitePair, site_pairs, site_pairs_from_files
from .profile import (SiteProfile, available_profiles, load_site_profile, profile_from_dict,
                      resolve_profile_path)
from .simulate import SiteDraws, apply_site, apply_site_with_draws, replaced_mask, seed_for

__all__ = ["SiteProfile", "SiteDraws", "apply_site", "apply_site_with_draws", "available_profiles",
           "load_site_profile", "profile_from_dict", "random_profile", "replaced_mask",
           "resolve_profile_path",
           "seed_for", "SitePair", "site_pairs", "site_pairs_from_files"]
