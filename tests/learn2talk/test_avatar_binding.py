"""Binding math of the Gaussian avatar: frames, rigid motion, inverse, and densification keeping bindings."""

from __future__ import annotations

import math

import torch
from gsplat.strategy.ops import duplicate, split

from ns_plugins.learn2talk.avatar.binding import bind_gaussians, face_frames, sample_on_faces, world_to_local
from ns_plugins.learn2talk.synth.head_mesh import make_head_mesh
from ns_plugins.splat.geometry import quat_multiply, quat_to_rotmat, rotmat_to_quat


def random_rotation(gen: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    return (q * torch.sign(torch.det(q))).float()


def random_gaussians(num_faces: int, n: int, gen: torch.Generator):
    return (
        torch.randn(n, 3, generator=gen) * 0.5,
        torch.randn(n, 3, generator=gen) * 0.3 - 1.0,
        torch.randn(n, 4, generator=gen),
        torch.randint(0, num_faces, (n,), generator=gen),
    )


def test_face_frames_are_orthonormal_and_follow_the_triangle() -> None:
    mesh = make_head_mesh(12)
    origins, rot, k = face_frames(mesh.template, mesh.faces)
    tri = mesh.template[mesh.faces]
    assert torch.allclose(rot.transpose(1, 2) @ rot, torch.eye(3).expand_as(rot), atol=1e-5)
    assert torch.allclose(torch.det(rot), torch.ones(len(rot)), atol=1e-5)
    assert torch.allclose(origins, tri.mean(1), atol=1e-6)
    edge = tri[:, 1] - tri[:, 0]
    assert torch.allclose(rot[:, :, 0], edge / edge.norm(dim=-1, keepdim=True), atol=1e-5)  # e0 along v1 - v0
    assert ((rot[:, :, 2] * (tri[:, 2] - tri[:, 0])).sum(-1).abs() < 1e-5).all()  # n is normal to the face
    assert torch.allclose(k, 0.5 * (edge.norm(dim=-1) + (tri[:, 2] - tri[:, 0]).norm(dim=-1)), atol=1e-6)


def test_quaternion_conversion_and_product_match_matrices() -> None:
    gen = torch.Generator().manual_seed(1)
    rots = torch.stack([random_rotation(gen) for _ in range(64)])
    rots[0] = torch.diag(torch.tensor([1.0, -1.0, -1.0]))  # 180 degrees: the w ~ 0 branch
    q = rotmat_to_quat(rots)
    assert torch.allclose(quat_to_rotmat(q), rots, atol=1e-5)
    assert torch.allclose(quat_to_rotmat(quat_multiply(q[:32], q[32:])), rots[:32] @ rots[32:], atol=1e-5)


def test_rigid_motion_of_the_mesh_moves_gaussians_rigidly() -> None:
    gen = torch.Generator().manual_seed(0)
    mesh = make_head_mesh(12)
    means_l, scales_l, quats_l, parents = random_gaussians(len(mesh.faces), 500, gen)
    means, log_scales, quats = bind_gaussians(means_l, scales_l, quats_l, parents, mesh.template, mesh.faces)
    rot, shift, s = random_rotation(gen), torch.tensor([0.3, -1.2, 2.0]), 1.7
    moved = s * mesh.template @ rot.T + shift  # rotate, scale uniformly, translate the whole mesh
    means2, log_scales2, quats2 = bind_gaussians(means_l, scales_l, quats_l, parents, moved, mesh.faces)
    assert torch.allclose(means2, s * means @ rot.T + shift, atol=1e-4)
    assert torch.allclose(log_scales2, log_scales + math.log(s), atol=1e-5)
    assert torch.allclose(quat_to_rotmat(quats2), rot @ quat_to_rotmat(quats), atol=1e-4)
    # and a non-rigid deformation moves Gaussians of the deformed triangles only
    bent = mesh.template.clone()
    moving = torch.zeros(len(bent), dtype=torch.bool)
    moving[mesh.lip_vertex_ids] = True
    bent[moving] += torch.tensor([0.0, -0.1, 0.05])
    means3, _, _ = bind_gaussians(means_l, scales_l, quats_l, parents, bent, mesh.faces)
    untouched = ~moving[mesh.faces[parents]].any(-1)
    assert untouched.any() and (~untouched).any()
    assert torch.allclose(means3[untouched], means[untouched], atol=1e-6)
    assert ((means3[~untouched] - means[~untouched]).norm(dim=-1) > 1e-4).all()


def test_world_to_local_inverts_the_binding() -> None:
    gen = torch.Generator().manual_seed(2)
    mesh = make_head_mesh(12)
    points, parents = sample_on_faces(mesh.template, mesh.faces, 3, gen)
    local = world_to_local(points, parents, mesh.template, mesh.faces)
    assert local[:, 2].abs().max() < 1e-4  # sampled on the faces: in the triangle plane
    back, _, _ = bind_gaussians(
        local,
        torch.zeros_like(local),
        torch.tensor([1.0, 0, 0, 0]).expand(len(local), 4),
        parents,
        mesh.template,
        mesh.faces,
    )
    assert torch.allclose(back, points, atol=1e-5)


def test_densification_keeps_each_childs_parent_triangle() -> None:
    """gsplat's duplicate/split carry the binding (lr-0 optimizer) and split children stay near their parent in the
    world."""
    gen = torch.Generator().manual_seed(3)
    mesh = make_head_mesh(12)
    means_l, scales_l, quats_l, parents = random_gaussians(len(mesh.faces), 40, gen)
    params = torch.nn.ParameterDict(
        {
            "means": torch.nn.Parameter(means_l),
            "scales": torch.nn.Parameter(scales_l),
            "quats": torch.nn.Parameter(quats_l),
            "opacities": torch.nn.Parameter(torch.zeros(40)),
            "binding": torch.nn.Parameter(parents.float()[:, None], requires_grad=False),
        }
    )
    optimizers: dict[str, torch.optim.Optimizer] = {
        name: torch.optim.Adam([p], lr=0.0 if name == "binding" else 1e-3) for name, p in params.items()
    }
    state = {"grad2d": torch.zeros(40), "count": torch.zeros(40), "radii": torch.zeros(40)}
    dup = torch.zeros(40, dtype=torch.bool)
    dup[:5] = True
    duplicate(params, optimizers, state, dup)
    assert torch.equal(params["binding"][40:, 0].long(), parents[:5])
    sel = torch.zeros(45, dtype=torch.bool)
    sel[10:20] = True
    before, _, _ = bind_gaussians(
        params["means"], params["scales"], params["quats"], params["binding"][:, 0].long(), mesh.template, mesh.faces
    )
    split(params, optimizers, state, sel)
    ids = params["binding"][:, 0].long()
    assert len(ids) == 55
    assert torch.equal(ids[-20:], parents[10:20].repeat(2))  # children of 10..19, twice
    after, log_scales, _ = bind_gaussians(
        params["means"], params["scales"], params["quats"], ids, mesh.template, mesh.faces
    )
    world_sigma = torch.exp(log_scales[-20:]).max(-1).values * 1.6  # splitting divides scales by 1.6
    assert ((after[-20:] - before[10:20].repeat(2, 1)).norm(dim=-1) < 6 * world_sigma).all()
