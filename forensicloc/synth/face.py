"""Talking-head frames: a speaker's appearance, head motion, and a vectorised renderer.

Geometry is in *face units* (fractions of the image side, before head scale); the
renderer maps every pixel of a chunk of frames into the face coordinates of its frame
(translation, scale, in-plane rotation) and composites soft-edged ellipses over a
static plate (backdrop, neck and shoulders): hair, face with directional shading and
skin texture, eyes that blink, brows, nose, and a mouth whose jaw opening and width
come from the speech plan. All frames of a chunk are drawn at once with numpy (no
per-frame Python loop), in planar ``[3, n, S, S]`` layout; each small feature is drawn
only in the window it can occupy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SKIN_TONES = ((236, 200, 175), (224, 186, 160), (198, 150, 120), (160, 112, 82), (120, 82, 60), (92, 62, 46))
HAIR_COLOURS = ((35, 28, 24), (20, 18, 18), (92, 62, 34), (150, 108, 62), (205, 180, 130), (120, 118, 116))


@dataclass(frozen=True)
class Appearance:
    """How one speaker looks (colours 0..255 RGB floats, geometry in face units)."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    clothes: tuple[float, float, float]
    background: tuple[tuple[float, float, float], tuple[float, float, float]]
    bg_angle: float
    centre: tuple[float, float]
    face_radii: tuple[float, float]
    hairline: float  # v of the hairline (negative: above the centre)
    hair_wave: float
    eye_dx: float
    eye_y: float
    eye_radii: tuple[float, float]
    brow_lift: float
    mouth_y: float
    mouth_half_width: float
    mouth_open_max: float
    lip_thickness: float
    shading: float
    texture: tuple[float, float, float, float, float, float]  # two plane waves of skin texture: (ku, kv, phase) x 2


def _jitter(rng: np.random.Generator, colour: tuple[int, ...], amount: float) -> tuple[float, float, float]:
    c = np.clip(np.asarray(colour, dtype=float) + rng.normal(0, amount, 3), 0, 255)
    return (float(c[0]), float(c[1]), float(c[2]))


def make_appearance(rng: np.random.Generator) -> Appearance:
    skin = _jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 8)
    hair = _jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 8)
    red = np.array([178.0, 70.0, 80.0])
    lips = tuple(float(x) for x in (0.55 * np.asarray(skin) + 0.45 * red) * rng.uniform(0.85, 1.0))

    def muted() -> tuple[float, float, float]:
        return _jitter(rng, tuple(int(x) for x in rng.uniform(40, 200, 3)), 0)

    return Appearance(
        skin=skin,
        hair=hair,
        lips=(lips[0], lips[1], lips[2]),
        clothes=muted(),
        background=(muted(), muted()),
        bg_angle=float(rng.uniform(0, 2 * np.pi)),
        centre=(float(0.5 + rng.normal(0, 0.015)), float(0.45 + rng.normal(0, 0.015))),
        face_radii=(float(rng.uniform(0.2, 0.245)), float(rng.uniform(0.27, 0.32))),
        hairline=float(rng.uniform(-0.2, -0.13)),
        hair_wave=float(rng.uniform(0.0, 0.025)),
        eye_dx=float(rng.uniform(0.075, 0.095)),
        eye_y=float(rng.uniform(-0.075, -0.045)),
        eye_radii=(float(rng.uniform(0.028, 0.036)), float(rng.uniform(0.014, 0.02))),
        brow_lift=float(rng.uniform(0.035, 0.05)),
        mouth_y=float(rng.uniform(0.13, 0.165)),
        mouth_half_width=float(rng.uniform(0.058, 0.078)),
        mouth_open_max=float(rng.uniform(0.032, 0.046)),
        lip_thickness=float(rng.uniform(0.008, 0.012)),
        shading=float(rng.uniform(0.1, 0.22)),
        texture=_texture(rng),
    )


def _texture(rng: np.random.Generator) -> tuple[float, float, float, float, float, float]:
    a, b = rng.uniform(6, 16, 2)
    c, d = rng.uniform(10, 22, 2)
    return (float(a), float(b), float(rng.uniform(0, 6.3)), float(c), float(d), float(rng.uniform(0, 6.3)))


@dataclass
class Motion:
    """Per-frame head pose, blinks and lighting of one recording."""

    dx: np.ndarray  # [T] translation, image fractions
    dy: np.ndarray
    scale: np.ndarray  # [T]
    angle: np.ndarray  # [T] radians
    blink: np.ndarray  # [T] 0 open .. 1 closed
    light: np.ndarray  # [T, 3] per-channel gain (exposure and white-balance drift)
    light_dir: np.ndarray  # [T, 2] direction of the key light in face coordinates


def _smooth_track(rng: np.random.Generator, t: np.ndarray, amplitude: float, freqs: tuple[float, float]) -> np.ndarray:
    out = np.zeros_like(t)
    for _ in range(3):
        f = rng.uniform(*freqs)
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 2.0


def make_motion(rng: np.random.Generator, n_frames: int, fps: float) -> Motion:
    t = np.arange(n_frames) / fps
    blink = np.zeros(n_frames)
    k = int(rng.integers(0, max(int(1.5 * fps), 1)))
    while k < n_frames:
        shape = np.array([0.5, 1.0, 0.7, 0.25])
        blink[k : k + 4] = shape[: max(0, min(4, n_frames - k))]
        k += int(rng.uniform(2.0, 5.5) * fps)
    base_light = rng.uniform(0.92, 1.06)
    light = base_light + _smooth_track(rng, t, 0.04, (0.05, 0.3))[:, None] + np.stack(
        [_smooth_track(rng, t, 0.015, (0.03, 0.2)) for _ in range(3)], axis=1
    )
    angle0 = rng.uniform(0, 2 * np.pi)
    swing = _smooth_track(rng, t, 0.5, (0.03, 0.15))
    light_dir = np.stack([np.cos(angle0 + swing), np.sin(angle0 + swing)], axis=1)
    return Motion(
        dx=_smooth_track(rng, t, rng.uniform(0.01, 0.025), (0.1, 0.6)),
        dy=_smooth_track(rng, t, rng.uniform(0.006, 0.018), (0.1, 0.7)),
        scale=1.0 + _smooth_track(rng, t, rng.uniform(0.005, 0.02), (0.05, 0.3)),
        angle=_smooth_track(rng, t, rng.uniform(0.01, 0.05), (0.1, 0.5)),
        blink=blink,
        light=light,
        light_dir=light_dir,
    )


def make_plate(app: Appearance, size: int, rng: np.random.Generator) -> np.ndarray:
    """The static part of the picture, planar ``[3, S, S]`` float32: the backdrop (a
    gradient and two soft blobs) with the speaker's neck and shoulders in front of it.
    The body stays put while the head moves, as it does when someone talks."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c0, c1 = (np.asarray(c, dtype=np.float32)[:, None, None] for c in app.background)
    g = 0.5 + 0.5 * (np.cos(app.bg_angle) * (xx - 0.5) + np.sin(app.bg_angle) * (yy - 0.5)) * 1.4
    img = c0 + np.clip(g, 0, 1)[None] * (c1 - c0)
    for _ in range(2):
        bx, by, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
        blob = np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r))
        img = img + blob[None] * rng.uniform(-25, 25, 3).astype(np.float32)[:, None, None]
    rx, ry = app.face_radii
    u, v = (xx[None] + 0.5 / size - app.centre[0]), (yy[None] + 0.5 / size - app.centre[1])
    px = np.full((1, 1, 1), float(size), dtype=np.float32)
    skin = np.asarray(app.skin, dtype=np.float32)
    for (v0, ru, rv), colour in (
        ((ry * 1.05, rx * 0.5, ry * 0.6), skin * np.float32(0.8)),  # neck
        ((ry * 2.0, rx * 2.0, ry * 0.85), np.asarray(app.clothes, dtype=np.float32)),  # shoulders
    ):
        m = _ellipse(u, v, 0.0, v0, ru, rv, px)[0]
        img = img + m[None] * (colour[:, None, None] - img)
    return np.clip(img, 0, 255).astype(np.float32)


@dataclass
class Geometry:
    """Where things are in a chunk of frames (pixels), for forgeries that edit regions."""

    face_window: tuple[slice, slice]  # rows, cols holding the face in every frame
    face_mask: np.ndarray  # [n, h, w] soft mask of the face ellipse inside face_window
    mouth_centre: np.ndarray  # [n, 2] (row, col)
    mouth_radius: float  # pixels, enough to hold the open mouth and lips
    face_centre: np.ndarray  # [n, 2] (row, col)
    face_radius: tuple[float, float]  # pixels (rows, cols)


def _ellipse(u: np.ndarray, v: np.ndarray, u0: float, v0: float, ru, rv, px: np.ndarray) -> np.ndarray:
    """Soft (about one pixel wide) mask of an ellipse in face coordinates.

    ``ru``/``rv`` may be per-frame arrays shaped ``[n, 1, 1]``; ``px`` is the number of
    pixels per face unit of each frame, ``[n, 1, 1]``.
    """
    du = (u - u0) * (1.0 / ru)
    dv = (v - v0) * (1.0 / rv)
    du *= du
    dv *= dv
    du += dv
    # 1 - r ~ (1 - r^2) / 2 near the edge, the only place the mask is not 0 or 1
    d = (1.0 - du) * (np.minimum(ru, rv) * px * 0.5)
    d += 0.5
    return np.clip(d, 0.0, 1.0, out=d)


def _blend(img: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Planar ``img[c] += mask * (colour[c] - img[c])`` in place (``img``: ``[3, ...]``)."""
    for c in range(3):
        plane = img[c]
        diff = float(colour[c]) - plane
        diff *= mask
        plane += diff


def _window(centres: np.ndarray, radius: float | tuple[float, float], size: int) -> tuple[slice, slice]:
    rr, rc = (radius, radius) if np.isscalar(radius) else radius
    r0 = int(max(np.floor(centres[:, 0].min() - rr), 0))
    r1 = int(min(np.ceil(centres[:, 0].max() + rr) + 1, size))
    c0 = int(max(np.floor(centres[:, 1].min() - rc), 0))
    c1 = int(min(np.ceil(centres[:, 1].max() + rc) + 1, size))
    return slice(r0, max(r1, r0 + 1)), slice(c0, max(c1, c0 + 1))


def _to_pixels(app: Appearance, motion: Motion, frames: slice, u: float, v: float, size: int) -> np.ndarray:
    """Pixel (row, col) of face point ``(u, v)`` in each frame of ``frames``."""
    cos, sin = np.cos(motion.angle[frames]), np.sin(motion.angle[frames])
    s = motion.scale[frames]
    x = app.centre[0] + motion.dx[frames] + s * (u * cos - v * sin)
    y = app.centre[1] + motion.dy[frames] + s * (u * sin + v * cos)
    return np.stack([y * size - 0.5, x * size - 0.5], axis=1)


def render_frames(
    app: Appearance,
    motion: Motion,
    plate: np.ndarray,
    opening: np.ndarray,
    width: np.ndarray,
    frames: slice,
) -> tuple[np.ndarray, Geometry]:
    """Clean, lit frames for ``frames`` of the motion, planar ``[3, n, S, S]`` float32
    (0..255), with the mouth drawn from ``opening``/``width`` (per frame of the video).

    Planar layout keeps every inner loop over contiguous pixels rather than over three
    channels, which is what makes numpy fast here.
    """
    size = plate.shape[1]
    n = frames.stop - frames.start
    f32 = np.float32
    rx, ry = app.face_radii
    scale_max = float(motion.scale[frames].max())
    # the head (hair included) never leaves this window during the chunk
    reach = (max(rx * 1.12, ry * 1.1) + 0.04) * scale_max * size + 2.0
    rows, cols = _window(_to_pixels(app, motion, frames, 0.0, -0.04, size), reach, size)

    coords_r = (np.arange(rows.start, rows.stop, dtype=f32) + 0.5) / size
    coords_c = (np.arange(cols.start, cols.stop, dtype=f32) + 0.5) / size
    cos = np.cos(motion.angle[frames]).astype(f32)[:, None, None]
    sin = np.sin(motion.angle[frames]).astype(f32)[:, None, None]
    inv = (1.0 / motion.scale[frames]).astype(f32)[:, None, None]
    X = coords_c[None, None, :] - (app.centre[0] + motion.dx[frames]).astype(f32)[:, None, None]
    Y = coords_r[None, :, None] - (app.centre[1] + motion.dy[frames]).astype(f32)[:, None, None]
    u = X * (cos * inv) + Y * (sin * inv)  # [n, h, w] face coordinates of each pixel
    v = Y * (cos * inv) - X * (sin * inv)
    px = (motion.scale[frames].astype(f32) * f32(size))[:, None, None]

    img = np.empty((3, n, size, size), dtype=f32)
    img[:] = plate[:, None]
    # hair behind the face, face, and the fringe over the forehead, composited "over"
    # in one channel: each weight is a mask times what the layers above leave uncovered
    face = _ellipse(u, v, 0.0, 0.0, rx, ry, px)
    hairline = app.hairline + app.hair_wave * np.sin(u * f32(40.0))
    fringe = np.clip((hairline - v) * px + 0.5, 0, 1) * face
    back = _ellipse(u, v, 0.0, -0.04, rx * 1.12, ry * 1.1, px)
    uncovered = 1.0 - face
    back *= uncovered
    uncovered -= back
    hair_w = back + fringe
    ld = motion.light_dir[frames].astype(f32)
    tex = app.texture
    shade = 1.0 + (u * (ld[:, 0, None, None] * f32(app.shading / rx)) + v * (ld[:, 1, None, None] * f32(app.shading / rx)))
    shade += f32(0.016) * np.sin(u * f32(tex[0] * 6.28) + v * f32(tex[1] * 6.28) + f32(tex[2]))
    shade += f32(0.01) * np.sin(u * f32(tex[3] * 6.28) - v * f32(tex[4] * 6.28) + f32(tex[5]))
    shade *= face - fringe
    for c in range(3):
        plane = img[c, :, rows, cols]
        plane *= uncovered
        plane += hair_w * f32(app.hair[c])
        plane += shade * f32(app.skin[c])

    # small features, each in its own window (given in window-local coordinates)
    local = _Local(rows, cols, u, v, px, size)
    _draw_eyes(img, app, motion, frames, local)
    _draw_nose(img, app, motion, frames, local)
    mouth_c, mouth_r = _draw_mouth(img, app, motion, frames, local, opening[frames], width[frames])

    img *= motion.light[frames].T.astype(f32)[:, :, None, None]
    face_rows, face_cols = _window(_to_pixels(app, motion, frames, 0.0, 0.0, size), max(rx, ry) * scale_max * size + 2, size)
    geometry = Geometry(
        face_window=(face_rows, face_cols),
        face_mask=face[:, face_rows.start - rows.start : face_rows.stop - rows.start, face_cols.start - cols.start : face_cols.stop - cols.start],
        mouth_centre=mouth_c,
        mouth_radius=mouth_r,
        face_centre=_to_pixels(app, motion, frames, 0.0, 0.0, size),
        face_radius=(ry * size, rx * size),
    )
    return img, geometry


class _Local:
    """Face coordinates of the head window, cut to a feature's window on demand."""

    def __init__(self, rows: slice, cols: slice, u: np.ndarray, v: np.ndarray, px: np.ndarray, size: int):
        self.rows, self.cols, self.u, self.v, self.px, self.size = rows, cols, u, v, px, size

    def window(self, centres: np.ndarray, radius: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Image window around ``centres`` clipped to the head window, and its u, v."""
        rows, cols = _window(centres, radius, self.size)
        r0, r1 = max(rows.start, self.rows.start), min(rows.stop, self.rows.stop)
        c0, c1 = max(cols.start, self.cols.start), min(cols.stop, self.cols.stop)
        r1, c1 = max(r1, r0 + 1), max(c1, c0 + 1)
        lr = slice(r0 - self.rows.start, r1 - self.rows.start)
        lc = slice(c0 - self.cols.start, c1 - self.cols.start)
        return slice(r0, r1), slice(c0, c1), self.u[:, lr, lc], self.v[:, lr, lc]


def _draw_eyes(img, app, motion, frames, local: _Local) -> None:
    erx, ery = app.eye_radii
    openness = (1.0 - motion.blink[frames]).astype(np.float32)[:, None, None]
    height = np.maximum(ery * openness, 0.002)
    white = np.array([235.0, 232.0, 225.0], dtype=np.float32)
    iris = np.asarray(app.hair, dtype=np.float32) * np.float32(0.6)
    brow = np.asarray(app.hair, dtype=np.float32) * np.float32(0.8)
    reach = (max(erx * 1.3, app.brow_lift + ery) * float(motion.scale[frames].max())) * local.size + 2.0
    px = local.px
    for side in (-1.0, 1.0):
        ex = side * app.eye_dx
        centres = _to_pixels(app, motion, frames, ex, app.eye_y - app.brow_lift / 2, local.size)
        rows, cols, uu, vv = local.window(centres, reach)
        sub = img[:, :, rows, cols]
        _blend(sub, _ellipse(uu, vv, ex, app.eye_y, erx, height, px), white)
        _blend(sub, _ellipse(uu, vv, ex, app.eye_y, ery * 0.95, np.minimum(height, ery * 0.95), px), iris)
        _blend(sub, _ellipse(uu, vv, ex, app.eye_y - app.brow_lift, erx * 1.25, 0.006, px), brow)


def _draw_nose(img, app, motion, frames, local: _Local) -> None:
    centres = _to_pixels(app, motion, frames, 0.0, 0.05, local.size)
    rows, cols, uu, vv = local.window(centres, 0.075 * local.size)
    sub = img[:, :, rows, cols]
    skin = np.asarray(app.skin, dtype=np.float32)
    px = local.px
    _blend(sub, _ellipse(uu, vv, 0.012, 0.035, 0.016, 0.05, px) * np.float32(0.5), skin * np.float32(0.86))
    dark = skin * np.float32(0.55)
    for side in (-1.0, 1.0):
        _blend(sub, _ellipse(uu, vv, side * 0.014, 0.082, 0.008, 0.004, px) * np.float32(0.8), dark)


def _draw_mouth(img, app, motion, frames, local: _Local, opening, width):
    half_w = app.mouth_half_width * width.astype(np.float32)[:, None, None]
    half_h = (0.004 + app.mouth_open_max * np.clip(opening, 0, 1.2)).astype(np.float32)[:, None, None]
    lip = app.lip_thickness
    radius = (app.mouth_half_width * 1.2 + lip + 0.02) * local.size * float(motion.scale[frames].max())
    centres = _to_pixels(app, motion, frames, 0.0, app.mouth_y, local.size)
    rows, cols, uu, vv = local.window(centres, radius + 2.0)
    sub = img[:, :, rows, cols]
    px = local.px
    # the lower lip drops with the jaw, the upper lip barely moves
    my = app.mouth_y + 0.35 * (half_h - 0.004)
    _blend(sub, _ellipse(uu, vv, 0.0, my, half_w + lip * 0.6, half_h + lip, px), np.asarray(app.lips, dtype=np.float32))
    inner = _ellipse(uu, vv, 0.0, my, half_w, half_h, px)
    _blend(sub, inner, np.array([70.0, 22.0, 30.0], dtype=np.float32))
    teeth = inner * np.clip((my - half_h * 0.35 - vv) * px + 0.5, 0, 1) * np.clip(half_h * 40.0 - 0.3, 0, 1)
    _blend(sub, teeth, np.array([225.0, 220.0, 205.0], dtype=np.float32))
    return centres, radius
