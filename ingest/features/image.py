"""Cover image → 48-d colour and texture descriptor (Pillow + numpy).

The image is converted to RGB and resized to ``SIZE``×``SIZE`` (bilinear); channels are in [0, 1].
A JPEG is decoded at the smallest DCT scale (1/2, 1/4 or 1/8) still at least ``SIZE`` pixels on
each side (``Image.draft``): a 600×600 cover decodes at 150×150, which took half of this
extractor's time at full size (version ``+mmkg2``; other formats decode whole).
An image claiming more than ``media.max_cover_pixels`` pixels is refused before it is decoded.

=========  ====  ===========================================================================
slice      dims  value
=========  ====  ===========================================================================
0:12       12    hue histogram, 12 bins of 30°, pixels weighted by saturation·value (sums to 1,
                 or all zeros for a grey image)
12:16       4    saturation histogram, 4 equal bins (sums to 1)
16:20       4    value (brightness) histogram, 4 equal bins (sums to 1)
20:26       6    R, G, B mean, then R, G, B standard deviation
26:30       4    S mean, S std, V mean, V std
30:32       2    mean hue direction (cos, sin) weighted by saturation·value; its length = hue
                 concentration
32          1    colourfulness (Hasler & Süsstrunk 2003):
                 √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²)
33:35       2    edge density: mean |∇L| (``FIND_EDGES`` on luminance L), share of pixels with
                 edge magnitude > 0.1
35:37       2    mean |∂L/∂x|, mean |∂L/∂y| (directional texture)
37          1    luminance contrast: std of L
38:44       6    standard deviation of luminance inside each of 4×4 blocks: its mean and std over
                 the blocks; the same for saturation·value, then saturation (local busyness)
44:48       4    mean luminance and saturation of the brightest 10 % of pixels, then of the
                 darkest 10 %
=========  ====  ===========================================================================
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features.media import cover_too_large
from mmkg.ingest.features.registry import register_extractor
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.schema import Modality, Prop

SIZE = 128
HUE_BINS, SAT_BINS, VAL_BINS = 12, 4, 4


def summary(vector: np.ndarray) -> dict[str, str]:
    """The readable value of one descriptor: ``dominant_colour``, ``#rrggbb`` — the hue of the
    heaviest 30° bin of the hue histogram (slice 0:12; the mean hue direction, 30:32, when that
    falls inside the bin, so a one-colour cover gets its own hue), at the image's mean saturation
    and value (26, 28); the mean grey (R, G, B means, 20:23) for a cover without colour."""
    import colorsys

    if vector[0:HUE_BINS].sum() <= 0:
        rgb = vector[20:23]
    else:
        heaviest = int(np.argmax(vector[0:HUE_BINS]))
        hue = (np.arctan2(vector[31], vector[30]) / (2 * np.pi)) % 1.0
        if int(hue * HUE_BINS) != heaviest:
            hue = (heaviest + 0.5) / HUE_BINS
        rgb = colorsys.hsv_to_rgb(hue, float(vector[26]), float(vector[28]))
    return {Prop.DOMINANT_COLOUR: "#" + "".join(f"{round(255 * float(np.clip(c, 0, 1))):02x}"
                                                for c in rgb)}


SPEC = FeatureSpec(
    name="cover_color", kind=Modality.IMAGE, media="cover",
    extractor="pillow", version=f"{version('pillow')}+mmkg2", dim=48, summarise=summary,
)


def describe(path: Path, settings: MediaSettings = MEDIA) -> np.ndarray:
    """The 48-d descriptor of one image file (float32).

    Raises:
        OSError / PIL.UnidentifiedImageError: the file cannot be decoded.
        ValueError: the image claims more than ``settings.max_cover_pixels`` pixels.
    """
    from PIL import Image, ImageFilter

    with Image.open(path) as image:
        problem = cover_too_large(path, image.size, settings)
        if problem:
            raise ValueError(problem)
        image.draft("RGB", (SIZE, SIZE))  # JPEG only: decode at a reduced scale
        rgb_image = image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    rgb = np.asarray(rgb_image, dtype=np.float64) / 255.0
    hsv = np.asarray(rgb_image.convert("HSV"), dtype=np.float64) / 255.0
    lum_image = rgb_image.convert("L")
    lum = np.asarray(lum_image, dtype=np.float64) / 255.0
    edges = np.asarray(lum_image.filter(ImageFilter.FIND_EDGES), dtype=np.float64) / 255.0
    edges = edges[1:-1, 1:-1]  # the filter leaves the border at zero
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]

    weight = s * v
    hue_hist = np.bincount(np.minimum((h * HUE_BINS).astype(int), HUE_BINS - 1).ravel(),
                           weights=weight.ravel(), minlength=HUE_BINS)
    hue_hist = hue_hist / hue_hist.sum() if hue_hist.sum() > 0 else hue_hist
    angle = 2 * np.pi * h
    hue_direction = [(weight * np.cos(angle)).sum(), (weight * np.sin(angle)).sum()]
    hue_direction = np.array(hue_direction) / max(weight.sum(), 1e-12)

    rg, yb = r - g, 0.5 * (r + g) - b
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    order = np.argsort(lum.ravel())
    tenth = max(1, order.size // 10)
    dark, bright = order[:tenth], order[-tenth:]

    vector = np.concatenate([
        hue_hist,
        _hist(s, SAT_BINS), _hist(v, VAL_BINS),
        rgb.reshape(-1, 3).mean(axis=0), rgb.reshape(-1, 3).std(axis=0),
        [s.mean(), s.std(), v.mean(), v.std()],
        hue_direction,
        [colourfulness, edges.mean(), (edges > 0.1).mean(),
         np.abs(np.diff(lum, axis=1)).mean(), np.abs(np.diff(lum, axis=0)).mean(), lum.std()],
        _block_std_stats(lum), _block_std_stats(weight), _block_std_stats(s),
        [lum.ravel()[bright].mean(), s.ravel()[bright].mean(),
         lum.ravel()[dark].mean(), s.ravel()[dark].mean()],
    ])
    return vector.astype(np.float32)


@register_extractor(SPEC)
def describe_many(paths: list[Path], settings: MediaSettings) -> np.ndarray:
    """:func:`describe` for each path: ``[len(paths), 48]``."""
    return np.stack([describe(p, settings) for p in paths]) if paths else np.zeros((0, SPEC.dim), np.float32)


def _hist(channel: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(np.minimum((channel * bins).astype(int), bins - 1).ravel(), minlength=bins)
    return counts / channel.size


def _block_std_stats(channel: np.ndarray, blocks: int = 4) -> list[float]:
    """Mean and std, over a ``blocks``×``blocks`` grid, of the channel's std inside each block."""
    side = channel.shape[0] // blocks
    tiles = channel[:side * blocks, :side * blocks].reshape(blocks, side, blocks, side)
    stds = tiles.std(axis=(1, 3))
    return [stds.mean(), stds.std()]
