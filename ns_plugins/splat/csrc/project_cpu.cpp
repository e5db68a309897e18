// CPU projection and tile binning for 3D Gaussian splatting, forward and backward.
//
// Same numbers as gsplat 1.4.0 (fully_fused_projection_fwd/bwd.cu, utils.cuh, isect_tiles.cu) and as
// the pure-torch path of torch_backend.py: EWA projection with the Jacobian's view direction clamped
// to the fov plus a 0.3 tan margin, eps2d added to the 2D covariance, radius = ceil(3 sqrt(lambda_max)),
// radii zeroed outside [near, far], off-screen or at most radius_clip. Matrices are row-major.
//
// Binning reproduces gsplat's sorted isect_ids (camera | tile | float32 depth bits, ties by Gaussian
// index) with a counting sort over tiles and a per-tile sort by depth, instead of one global sort.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "parallel.h"

namespace {

template <typename T>
struct Cam {
    T R[9], t[3], fx, fy, cx, cy, lim_x_pos, lim_x_neg, lim_y_pos, lim_y_neg;
    Cam(const T *viewmat, const T *K, int64_t width, int64_t height) {
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) R[3 * i + j] = viewmat[4 * i + j];
            t[i] = viewmat[4 * i + 3];
        }
        fx = K[0], fy = K[4], cx = K[2], cy = K[5];
        const T tan_fovx = T(0.5) * (T)width / fx, tan_fovy = T(0.5) * (T)height / fy;
        lim_x_pos = ((T)width - cx) / fx + T(0.3) * tan_fovx;
        lim_x_neg = cx / fx + T(0.3) * tan_fovx;
        lim_y_pos = ((T)height - cy) / fy + T(0.3) * tan_fovy;
        lim_y_neg = cy / fy + T(0.3) * tan_fovy;
    }
};

// out = A B (3x3), or A B^T
template <typename T>
inline void mm3(const T *A, const T *B, T *out) {
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            out[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
}
template <typename T>
inline void mm3t(const T *A, const T *B, T *out) {
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            out[3 * i + j] = A[3 * i] * B[3 * j] + A[3 * i + 1] * B[3 * j + 1] + A[3 * i + 2] * B[3 * j + 2];
}
template <typename T>
inline void mtm3(const T *A, const T *B, T *out) {  // A^T B
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) out[3 * i + j] = A[i] * B[j] + A[3 + i] * B[3 + j] + A[6 + i] * B[6 + j];
}

// Camera-space mean and covariance, and the clamped Jacobian J (2x3, row-major).
template <typename T>
struct Projected {
    T mc[3], cov_c[9], J[6], tx, ty, rz;
    bool in_x, in_y;
};

template <typename T>
inline void project_one(const Cam<T> &cam, const T *mean, const T *covar, Projected<T> &p) {
    const T *R = cam.R;
    for (int i = 0; i < 3; ++i)
        p.mc[i] = R[3 * i] * mean[0] + R[3 * i + 1] * mean[1] + R[3 * i + 2] * mean[2] + cam.t[i];
    T tmp[9];
    mm3(R, covar, tmp);
    mm3t(tmp, R, p.cov_c);
    const T x = p.mc[0], y = p.mc[1], z = p.mc[2];
    p.rz = T(1) / z;
    const T u = x / z, v = y / z;
    p.in_x = u <= cam.lim_x_pos && u >= -cam.lim_x_neg;
    p.in_y = v <= cam.lim_y_pos && v >= -cam.lim_y_neg;
    p.tx = z * std::min(cam.lim_x_pos, std::max(-cam.lim_x_neg, u));
    p.ty = z * std::min(cam.lim_y_pos, std::max(-cam.lim_y_neg, v));
    p.J[0] = cam.fx / z, p.J[1] = T(0), p.J[2] = -cam.fx * p.tx / (z * z);
    p.J[3] = T(0), p.J[4] = cam.fy / z, p.J[5] = -cam.fy * p.ty / (z * z);
}

template <typename T>
void project_fwd(int64_t C, int64_t N, const T *means, const T *covars, const T *viewmats, const T *Ks,
                 int64_t width, int64_t height, T eps2d, T near_plane, T far_plane, T radius_clip,
                 int32_t *radii, T *means2d, T *depths, T *conics, T *comps, int n_threads) {
    std::vector<Cam<T>> cams;
    for (int64_t c = 0; c < C; ++c) cams.emplace_back(viewmats + 16 * c, Ks + 9 * c, width, height);
    ns::parallel_blocks(C * N, 4096, n_threads, [&](int, int64_t b, int64_t e) {
        for (int64_t idx = b; idx < e; ++idx) {
            const int64_t c = idx / N, n = idx % N;
            radii[idx] = 0;
            means2d[2 * idx] = means2d[2 * idx + 1] = T(0);
            depths[idx] = T(0);
            conics[3 * idx] = conics[3 * idx + 1] = conics[3 * idx + 2] = T(0);
            comps[idx] = T(0);
            const Cam<T> &cam = cams[c];
            const T *mean = means + 3 * n;
            const T *R = cam.R;
            const T z = R[6] * mean[0] + R[7] * mean[1] + R[8] * mean[2] + cam.t[2];
            if (!(z >= near_plane && z <= far_plane)) continue;
            Projected<T> p;
            project_one(cam, mean, covars + 9 * n, p);
            const T *J = p.J, *S = p.cov_c;
            // cov2d = J S J^T, J = [[j0, 0, j2], [0, j4, j5]]
            const T JS0[3] = {J[0] * S[0] + J[2] * S[6], J[0] * S[1] + J[2] * S[7], J[0] * S[2] + J[2] * S[8]};
            const T JS1[3] = {J[4] * S[3] + J[5] * S[6], J[4] * S[4] + J[5] * S[7], J[4] * S[5] + J[5] * S[8]};
            T a = JS0[0] * J[0] + JS0[2] * J[2];
            const T bb = JS0[1] * J[4] + JS0[2] * J[5];
            T cc = JS1[1] * J[4] + JS1[2] * J[5];
            const T det_orig = a * cc - bb * bb;
            a += eps2d, cc += eps2d;
            const T det = a * cc - bb * bb;
            if (!(det > T(0))) continue;
            const T half = T(0.5) * (a + cc);
            const T v1 = half + std::sqrt(std::max(half * half - det, T(0.01)));
            const T radius = std::ceil(T(3) * std::sqrt(v1));
            const T mx = cam.fx * p.mc[0] / z + cam.cx, my = cam.fy * p.mc[1] / z + cam.cy;
            if (!(radius > radius_clip)) continue;
            if (mx + radius <= T(0) || mx - radius >= (T)width || my + radius <= T(0) || my - radius >= (T)height)
                continue;
            radii[idx] = (int32_t)radius;
            means2d[2 * idx] = mx, means2d[2 * idx + 1] = my;
            depths[idx] = z;
            conics[3 * idx] = cc / det, conics[3 * idx + 1] = -bb / det, conics[3 * idx + 2] = a / det;
            const T ratio = det_orig / det;
            comps[idx] = ratio > T(0) ? std::sqrt(ratio) : T(0);
        }
    });
}

// Gradients per Gaussian (summed over cameras), and per camera for the view matrices, summed over
// fixed blocks of Gaussians in block order (the same result for any thread count).
template <typename T>
void project_bwd(int64_t C, int64_t N, const T *means, const T *covars, const T *viewmats, const T *Ks,
                 int64_t width, int64_t height, T eps2d, const int32_t *radii, const T *conics, const T *comps,
                 const T *v_means2d, const T *v_depths, const T *v_conics, const T *v_comps,
                 T *v_means, T *v_covars, T *v_viewmats, int n_threads) {
    std::vector<Cam<T>> cams;
    for (int64_t c = 0; c < C; ++c) cams.emplace_back(viewmats + 16 * c, Ks + 9 * c, width, height);
    const int64_t block = 4096, n_blocks = (N + block - 1) / block;
    std::vector<T> v_view_blocks(v_viewmats ? n_blocks * C * 12 : 0, T(0));
    ns::parallel_blocks(N, block, n_threads, [&](int, int64_t b, int64_t e) {
        T *v_view = v_viewmats ? v_view_blocks.data() + (b / block) * C * 12 : nullptr;
        for (int64_t n = b; n < e; ++n) {
            const T *mean = means + 3 * n, *covar = covars + 9 * n;
            T v_mean[3] = {0, 0, 0}, v_cov[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
            for (int64_t c = 0; c < C; ++c) {
                const int64_t idx = c * N + n;
                if (radii[idx] <= 0) continue;
                const Cam<T> &cam = cams[c];
                Projected<T> p;
                project_one(cam, mean, covar, p);
                // conic = inverse(cov2d): v_cov2d = -P V P, V the symmetric split of v_conics
                const T *P = conics + 3 * idx, *vc = v_conics + 3 * idx;
                const T P00 = P[0], P01 = P[1], P11 = P[2];
                const T V00 = vc[0], V01 = T(0.5) * vc[1], V11 = vc[2];
                const T PV00 = P00 * V00 + P01 * V01, PV01 = P00 * V01 + P01 * V11;
                const T PV10 = P01 * V00 + P11 * V01, PV11 = P01 * V01 + P11 * V11;
                T G00 = -(PV00 * P00 + PV01 * P01), G01 = -(PV00 * P01 + PV01 * P11);
                T G10 = -(PV10 * P00 + PV11 * P01), G11 = -(PV10 * P01 + PV11 * P11);
                if (v_comps != nullptr && comps[idx] > T(0)) {
                    // comp = sqrt(det(cov2d) / det(cov2d + eps2d I)) (gsplat's add_blur_vjp, exact 0.5/comp)
                    const T comp = comps[idx];
                    const T det_conic = P00 * P11 - P01 * P01;
                    const T v_sqr = v_comps[idx] * T(0.5) / comp;
                    const T one_m = T(1) - comp * comp;
                    G00 += v_sqr * (one_m * P00 - eps2d * det_conic);
                    G01 += v_sqr * (one_m * P01);
                    G10 += v_sqr * (one_m * P01);
                    G11 += v_sqr * (one_m * P11 - eps2d * det_conic);
                }
                const T *J = p.J, *S = p.cov_c;
                const T G[4] = {G00, G01, G10, G11};
                // v_cov_c = J^T G J (3x3)
                T GJ[6];  // G J: 2x3
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 3; ++j) GJ[3 * i + j] = G[2 * i] * J[j] + G[2 * i + 1] * J[3 + j];
                T v_cov_c[9];
                for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 3; ++j) v_cov_c[3 * i + j] = J[i] * GJ[j] + J[3 + i] * GJ[3 + j];
                // v_J = G J S^T + G^T J S (S symmetric up to rounding; kept general as gsplat)
                T GtJ[6];
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 3; ++j) GtJ[3 * i + j] = G[i] * J[j] + G[2 + i] * J[3 + j];
                T vJ[6];
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 3; ++j)
                        vJ[3 * i + j] = GJ[3 * i] * S[3 * j] + GJ[3 * i + 1] * S[3 * j + 1] +
                                        GJ[3 * i + 2] * S[3 * j + 2] + GtJ[3 * i] * S[j] + GtJ[3 * i + 1] * S[3 + j] +
                                        GtJ[3 * i + 2] * S[6 + j];
                const T x = p.mc[0], y = p.mc[1];
                const T rz = p.rz, rz2 = rz * rz, rz3 = rz2 * rz;
                const T *vm2 = v_means2d + 2 * idx;
                T v_mc[3] = {cam.fx * rz * vm2[0], cam.fy * rz * vm2[1],
                             -(cam.fx * x * vm2[0] + cam.fy * y * vm2[1]) * rz2};
                if (p.in_x) v_mc[0] += -cam.fx * rz2 * vJ[2];
                else v_mc[2] += -cam.fx * rz3 * vJ[2] * p.tx;
                if (p.in_y) v_mc[1] += -cam.fy * rz2 * vJ[5];
                else v_mc[2] += -cam.fy * rz3 * vJ[5] * p.ty;
                v_mc[2] += -cam.fx * rz2 * vJ[0] - cam.fy * rz2 * vJ[4] + T(2) * cam.fx * p.tx * rz3 * vJ[2] +
                           T(2) * cam.fy * p.ty * rz3 * vJ[5];
                v_mc[2] += v_depths[idx];
                // world to camera: p_c = R p + t, cov_c = R cov R^T
                const T *R = cam.R;
                for (int i = 0; i < 3; ++i) v_mean[i] += R[i] * v_mc[0] + R[3 + i] * v_mc[1] + R[6 + i] * v_mc[2];
                T RtG[9], tmp[9];
                mtm3(R, v_cov_c, RtG);
                mm3(RtG, R, tmp);  // R^T G R
                for (int i = 0; i < 9; ++i) v_cov[i] += tmp[i];
                if (v_view) {
                    T *vv = v_view + 12 * c;  // [3, 4]: v_R | v_t
                    T GR[9], GtR[9], A[9], B[9];
                    mm3(v_cov_c, R, GR);
                    mtm3(v_cov_c, R, GtR);
                    mm3t(GR, covar, A);   // G R cov^T
                    mm3(GtR, covar, B);   // G^T R cov
                    for (int i = 0; i < 3; ++i) {
                        for (int j = 0; j < 3; ++j) vv[4 * i + j] += v_mc[i] * mean[j] + A[3 * i + j] + B[3 * i + j];
                        vv[4 * i + 3] += v_mc[i];
                    }
                }
            }
            for (int i = 0; i < 3; ++i) v_means[3 * n + i] = v_mean[i];
            for (int i = 0; i < 9; ++i) v_covars[9 * n + i] = v_cov[i];
        }
    });
    if (v_viewmats) {
        std::memset(v_viewmats, 0, sizeof(T) * 16 * C);
        for (int64_t b = 0; b < n_blocks; ++b)
            for (int64_t c = 0; c < C; ++c)
                for (int k = 0; k < 12; ++k) v_viewmats[16 * c + k] += v_view_blocks[(b * C + c) * 12 + k];
    }
}

// Tile ranges [x0, x1) x [y0, y1) of each Gaussian's 3-sigma box (gsplat's isect_tiles), and counts.
template <typename T>
inline int64_t tile_box(const T *means2d, const int32_t *radii, int64_t idx, int64_t tile_size, int64_t tile_w,
                        int64_t tile_h, int64_t &x0, int64_t &x1, int64_t &y0, int64_t &y1) {
    if (radii[idx] <= 0) return 0;
    const T ts = (T)tile_size;
    const T r = (T)radii[idx] / ts;
    const T x = means2d[2 * idx] / ts, y = means2d[2 * idx + 1] / ts;
    auto clampi = [](T v, int64_t hi) { return (int64_t)std::min<T>(std::max<T>(v, T(0)), (T)hi); };
    x0 = clampi(std::floor(x - r), tile_w), x1 = clampi(std::ceil(x + r), tile_w);
    y0 = clampi(std::floor(y - r), tile_h), y1 = clampi(std::ceil(y + r), tile_h);
    return (x1 - x0) * (y1 - y0);
}

template <typename T>
int64_t isect_count(int64_t CN, const T *means2d, const int32_t *radii, int64_t tile_size, int64_t tile_w,
                    int64_t tile_h, int32_t *tiles_per_gauss, int n_threads) {
    ns::parallel_blocks(CN, 8192, n_threads, [&](int, int64_t b, int64_t e) {
        int64_t x0, x1, y0, y1;
        for (int64_t i = b; i < e; ++i)
            tiles_per_gauss[i] = (int32_t)tile_box(means2d, radii, i, tile_size, tile_w, tile_h, x0, x1, y0, y1);
    });
    int64_t m = 0;
    for (int64_t i = 0; i < CN; ++i) m += tiles_per_gauss[i];
    return m;
}

template <typename T>
void isect_fill(int64_t C, int64_t N, const T *means2d, const int32_t *radii, const T *depths, int64_t tile_size,
                int64_t tile_w, int64_t tile_h, int64_t n_isects, int64_t *isect_ids, int32_t *flatten_ids,
                int32_t *isect_offsets, int n_threads) {
    const int64_t n_tiles = tile_w * tile_h, n_keys = C * n_tiles;
    int64_t tile_bits = 0;
    while ((int64_t(1) << tile_bits) <= n_tiles) ++tile_bits;  // floor(log2(n_tiles)) + 1
    // counting sort by (camera, tile); Gaussians visited in index order, so ties keep index order
    std::vector<int64_t> start(n_keys + 1, 0);
    int64_t x0, x1, y0, y1;
    for (int64_t i = 0; i < C * N; ++i) {
        if (!tile_box(means2d, radii, i, tile_size, tile_w, tile_h, x0, x1, y0, y1)) continue;
        const int64_t base = (i / N) * n_tiles;
        for (int64_t ty = y0; ty < y1; ++ty)
            for (int64_t tx = x0; tx < x1; ++tx) ++start[base + ty * tile_w + tx + 1];
    }
    for (int64_t k = 0; k < n_keys; ++k) start[k + 1] += start[k];
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < C * N; ++i) {
        if (!tile_box(means2d, radii, i, tile_size, tile_w, tile_h, x0, x1, y0, y1)) continue;
        const int64_t base = (i / N) * n_tiles;
        for (int64_t ty = y0; ty < y1; ++ty)
            for (int64_t tx = x0; tx < x1; ++tx) flatten_ids[cursor[base + ty * tile_w + tx]++] = (int32_t)i;
    }
    for (int64_t k = 0; k < n_keys; ++k) isect_offsets[k] = (int32_t)start[k];
    // front to back within each tile: the float32 depth's bits (positive floats sort like their bits)
    ns::parallel_items(n_keys, n_threads, [&](int, int64_t k) {
        const int64_t s = start[k], e = start[k + 1];
        if (e <= s) return;
        std::vector<std::pair<uint32_t, int32_t>> keys(e - s);
        for (int64_t j = s; j < e; ++j) {
            const float d = (float)depths[flatten_ids[j]];
            uint32_t bits;
            std::memcpy(&bits, &d, 4);
            keys[j - s] = {bits, flatten_ids[j]};
        }
        std::sort(keys.begin(), keys.end());  // (depth bits, index): the stable order
        const int64_t cam = k / n_tiles, tile = k % n_tiles;
        const int64_t head = (cam << (32 + tile_bits)) | (tile << 32);
        for (int64_t j = s; j < e; ++j) {
            flatten_ids[j] = keys[j - s].second;
            isect_ids[j] = head | (int64_t)keys[j - s].first;
        }
    });
    (void)n_isects;
}

}  // namespace

#define NS_PROJECT(T, S)                                                                                          \
    extern "C" int ns_project_fwd_##S(int64_t C, int64_t N, const T *means, const T *covars, const T *viewmats,    \
                                      const T *Ks, int64_t width, int64_t height, double eps2d, double near_plane, \
                                      double far_plane, double radius_clip, int32_t *radii, T *means2d, T *depths, \
                                      T *conics, T *comps, int n_threads) {                                        \
        project_fwd<T>(C, N, means, covars, viewmats, Ks, width, height, (T)eps2d, (T)near_plane, (T)far_plane,    \
                       (T)radius_clip, radii, means2d, depths, conics, comps, n_threads);                          \
        return 0;                                                                                                 \
    }                                                                                                             \
    extern "C" int ns_project_bwd_##S(int64_t C, int64_t N, const T *means, const T *covars, const T *viewmats,    \
                                      const T *Ks, int64_t width, int64_t height, double eps2d,                    \
                                      const int32_t *radii, const T *conics, const T *comps, const T *v_means2d,   \
                                      const T *v_depths, const T *v_conics, const T *v_comps, T *v_means,          \
                                      T *v_covars, T *v_viewmats, int n_threads) {                                 \
        project_bwd<T>(C, N, means, covars, viewmats, Ks, width, height, (T)eps2d, radii, conics, comps,           \
                       v_means2d, v_depths, v_conics, v_comps, v_means, v_covars, v_viewmats, n_threads);          \
        return 0;                                                                                                 \
    }                                                                                                             \
    extern "C" int64_t ns_isect_count_##S(int64_t CN, const T *means2d, const int32_t *radii, int64_t tile_size,   \
                                          int64_t tile_w, int64_t tile_h, int32_t *tiles_per_gauss,                \
                                          int n_threads) {                                                         \
        return isect_count<T>(CN, means2d, radii, tile_size, tile_w, tile_h, tiles_per_gauss, n_threads);         \
    }                                                                                                             \
    extern "C" int ns_isect_fill_##S(int64_t C, int64_t N, const T *means2d, const int32_t *radii,                \
                                     const T *depths, int64_t tile_size, int64_t tile_w, int64_t tile_h,           \
                                     int64_t n_isects, int64_t *isect_ids, int32_t *flatten_ids,                   \
                                     int32_t *isect_offsets, int n_threads) {                                      \
        isect_fill<T>(C, N, means2d, radii, depths, tile_size, tile_w, tile_h, n_isects, isect_ids, flatten_ids,   \
                      isect_offsets, n_threads);                                                                   \
        return 0;                                                                                                 \
    }

NS_PROJECT(float, f32)
NS_PROJECT(double, f64)
