"""An analytic CT phantom: Hounsfield units at any point (x, y, z) in patient mm (LPS)."""

import numpy as np

AIR, FAT, SOFT, LUNG, BONE, MARROW, BLOOD, LIVER, KIDNEY, CSF = (
    -1000.0,
    -100.0,
    40.0,
    -850.0,
    700.0,
    250.0,
    180.0,
    60.0,
    150.0,
    10.0,
)
TOP_Z, BOTTOM_Z = 0.0, -300.0  # the body spans chest top to pelvis


def _inside(x, y, cx, cy, ax, ay):
    # On the unbroadcast axes: the squares cost a row and a column, not a whole slice.
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


def hounsfield(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """HU of the phantom at broadcastable coordinate arrays (mm; +x left, +y posterior)."""
    x, y, z = (np.asarray(v, float) for v in (x, y, z))
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    hu = np.full(shape, AIR)

    def put(mask, value) -> None:
        hu[np.broadcast_to(mask, shape)] = value

    in_body_z = (z <= TOP_Z) & (z >= BOTTOM_Z)
    # The trunk is a little wider at the abdomen than at the chest.
    width = 150.0 + 10.0 * np.clip((-z - 100.0) / 100.0, 0.0, 1.0)
    put(in_body_z & _inside(x, y, 0, 0, width, 100), FAT)
    put(in_body_z & _inside(x, y, 0, 0, width * 0.92, 92), SOFT)

    chest = in_body_z & (z >= -130)
    taper = np.sqrt(np.clip(np.minimum(-z, z + 130.0) / 30.0, 0.0, 1.0))
    for side in (-1, 1):
        put(chest & _inside(x, y, side * 68, -8, 48 * taper + 1e-6, 68 * taper + 1e-6), LUNG)
    put(in_body_z & (z <= -40) & (z >= -115) & _inside(x, y, 18, -32, 50, 44), SOFT + 5)
    # Ribs: a broken ring inside the chest wall, one rib every 25 mm along z.
    angle = np.arctan2(y, x)
    ring = _inside(x, y, 0, 0, width * 0.89, 89) & ~_inside(x, y, 0, 0, width * 0.85, 85)
    put(chest & ring & (np.mod(-z, 25.0) < 9.0) & (np.abs(np.sin(angle)) > 0.25), BONE)

    put(in_body_z & (z <= -95) & (z >= -200) & _inside(x, y, -62, 5, 78, 68), LIVER)
    for side in (-1, 1):
        put(in_body_z & (z <= -165) & (z >= -235) & _inside(x, y, side * 72, 48, 24, 30), KIDNEY)
    pelvis = in_body_z & (z <= -240)
    for side in (-1, 1):
        wing = _inside(x, y, side * 92, 40, 32, 40) & ~_inside(x, y, side * 92, 40, 24, 32)
        put(pelvis & wing, BONE)

    put(in_body_z & _inside(x, y, 22, 42, 12, 12), BLOOD)
    vertebra = np.broadcast_to(in_body_z & _inside(x, y, 0, 66, 19, 17), shape)
    disc = np.broadcast_to(np.mod(-z, 30.0) < 5.0, shape)
    hu[vertebra] = np.where(disc[vertebra], SOFT + 40, BONE)
    put(in_body_z & _inside(x, y, 0, 66, 14, 12) & ~disc, MARROW)
    put(in_body_z & _inside(x, y, 0, 90, 7, 7), CSF)
    return hu
