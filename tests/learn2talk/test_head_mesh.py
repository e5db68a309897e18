import numpy as np
import torch

from ns_plugins.learn2talk.synth.head_mesh import BASIS_NAMES, deform, make_head_mesh
from ns_plugins.learn2talk.synth.speech import UNITS, make_speaker, synthesize


def test_head_mesh_shapes_closed_and_outward():
    mesh = make_head_mesh()
    v = mesh.num_vertices
    assert 500 < v < 4000
    assert mesh.bases.shape == (len(BASIS_NAMES), v, 3) and mesh.basis_names == BASIS_NAMES
    assert mesh.template.norm(dim=-1).max() <= 1.0
    assert mesh.template[:, 2].max() > 0.8  # faces +z (nose tip)
    # closed and consistently oriented: every directed edge exactly once
    f = mesh.faces
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    assert torch.unique(edges, dim=0).shape[0] == edges.shape[0]
    assert torch.equal(torch.unique(edges.sort(1).values, dim=0, return_counts=True)[1].unique(), torch.tensor([2]))
    tri = mesh.template[f]
    normal = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert ((normal * tri.mean(1)).sum(-1) > 0).float().mean() > 0.99
    lips = mesh.template[mesh.lip_vertex_ids]
    assert len(mesh.lip_vertex_ids) >= 10 and lips[:, 1].max() < 0 and lips[:, 2].min() > 0.4
    assert mesh.template[mesh.upper_face_vertex_ids][:, 1].min() > 0
    assert mesh.vertex_colors.shape == (v, 3) and 0 <= mesh.vertex_colors.min() and mesh.vertex_colors.max() <= 1


def test_deform_is_linear_and_speakers_differ():
    mesh = make_head_mesh()
    c = torch.zeros(2, len(BASIS_NAMES))
    c[1, mesh.basis_index("jaw_open")] = 1.0
    verts = deform(mesh, c)
    assert torch.allclose(verts[0], mesh.template)
    assert torch.allclose(verts[1] - verts[0], mesh.bases[0], atol=1e-6)
    assert mesh.bases[0][mesh.lip_vertex_ids, 1].min() < -0.05
    assert mesh.bases[0][mesh.upper_face_vertex_ids].norm(dim=-1).max() < 1e-3
    other = make_head_mesh(seed=2)
    assert other.num_vertices == mesh.num_vertices
    assert 0.005 < (other.template - mesh.template).norm(dim=-1).max() < 0.15


def test_sounds_drive_distinct_mouth_shapes():
    rng = np.random.default_rng(0)
    k = {n: i for i, n in enumerate(BASIS_NAMES)}
    speaker = make_speaker(0)
    shapes = {}
    for unit in ("a", "i", "u", "m"):
        wave, coeffs = synthesize([("_", 0.2), (unit, 0.3), ("_", 0.2)], speaker, 25, 16000, rng)
        assert coeffs.shape == (17, len(BASIS_NAMES)) and wave.shape == (11200,)
        shapes[unit] = coeffs[11]  # late in the unit: the mouth has reached its target
        assert coeffs[0, :4].abs().max() < 0.05  # rest in the leading silence
    assert shapes["a"][k["jaw_open"]] > 2 * shapes["i"][k["jaw_open"]]
    assert shapes["i"][k["lip_spread"]] > shapes["u"][k["lip_spread"]] + 0.5
    assert shapes["u"][k["lip_round"]] > 0.5 > shapes["a"][k["lip_round"]]
    assert shapes["m"][k["lip_press"]] > 0.5
    assert set(UNITS) >= {"a", "e", "i", "o", "u", "m", "b", "f", "s", "_"}
