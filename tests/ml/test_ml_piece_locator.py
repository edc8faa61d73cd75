"""ml/piece_locator.py: a class-agnostic "this cell is piece" classifier on the backbone's feature map."""
import numpy as np
from PIL import Image

from ml import piece_locator, zoom


def _maps(rng, n, piece_cells):
    """Synthetic 7×7×16 maps: background cells point one way in channel space, piece cells another."""
    maps = rng.normal(0, 0.3, (n, 7, 7, 16)).astype(np.float32) + np.eye(16, dtype=np.float32)[0] * 2
    for k, (r, c) in enumerate(piece_cells):
        maps[k, r, c] = rng.normal(0, 0.3, 16) + np.eye(16)[1] * 2
    return maps


def test_mask_cells_marks_the_cells_mostly_covered_by_the_mask():
    mask = np.zeros((140, 140), np.uint8)
    mask[20:40, 100:120] = 255  # one full cell (row 1, column 5) of a 7×7 grid on 140 px
    mask[100:104, 0:140] = 255  # a thin chain across row 5: a fifth of each cell, not "mostly piece"
    cells = piece_locator.mask_cells(Image.fromarray(mask))
    assert cells.shape == (7, 7) and cells[1, 5] and cells.sum() == 1


def test_the_locator_finds_the_piece_cell_and_the_box_lands_on_it():
    rng = np.random.default_rng(0)
    where = [tuple(rng.integers(0, 7, 2)) for _ in range(60)]
    maps = _maps(rng, 60, where)
    targets = np.zeros((60, 7, 7), bool)
    for k, (r, c) in enumerate(where):
        targets[k, r, c] = True
    locator = piece_locator.fit(maps, targets)
    assert locator["w"].shape == (16, 1) and locator["b"].shape == (1,)
    assert piece_locator.is_piece_locator(locator)
    assert not piece_locator.is_piece_locator({"w": np.zeros((16, 5)), "b": np.zeros(5)})  # a category head

    new = _maps(rng, 1, [(5, 2)])  # a photo it never saw, piece in row 5, column 2
    probs = zoom.activation_map(new, locator)[0]
    assert probs[5, 2] > 0.9 and np.delete(probs.ravel(), 5 * 7 + 2).max() < 0.1
    x0, y0, x1, y1 = zoom.peak_box(probs)
    assert x0 < 2.5 / 7 < x1 and y0 < 5.5 / 7 < y1  # the piece cell's centre is inside
    assert x1 - x0 < 0.4 and y1 - y0 < 0.4  # a box round that cell, not the whole map
