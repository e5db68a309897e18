// CPU spherical-harmonics colours (degree 0..3) with their backward pass.
//
// colour = max(0, sum_k B_k(d / |d|) coeff_k + 0.5), zero SH (colour 0.5, no gradient) where the
// Gaussian is culled (radius 0), as gsplat's rasterization() does. The basis is the one of
// ns_plugins/splat/sh.py; the gradient with respect to the unnormalised direction is the basis
// gradient projected onto the sphere's tangent plane and divided by |d|.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "parallel.h"

namespace {

constexpr double C0 = 0.28209479177387814, C1 = 0.4886025119029199;
constexpr double C2[5] = {1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
                          0.5462742152960396};
constexpr double C3[7] = {-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
                          -0.4570457994644658, 1.445305721320277, -0.5900435899266435};

// Basis B[0..(degree+1)^2) at the unit vector (x, y, z); with dB, its gradient [k][3].
template <typename T>
inline void sh_basis(int degree, T x, T y, T z, T *B, T (*dB)[3]) {
    B[0] = T(C0);
    if (dB) dB[0][0] = dB[0][1] = dB[0][2] = T(0);
    if (degree < 1) return;
    const T c1 = T(C1);
    B[1] = -c1 * y, B[2] = c1 * z, B[3] = -c1 * x;
    if (dB) {
        dB[1][0] = 0, dB[1][1] = -c1, dB[1][2] = 0;
        dB[2][0] = 0, dB[2][1] = 0, dB[2][2] = c1;
        dB[3][0] = -c1, dB[3][1] = 0, dB[3][2] = 0;
    }
    if (degree < 2) return;
    const T xx = x * x, yy = y * y, zz = z * z;
    const T a0 = T(C2[0]), a1 = T(C2[1]), a2 = T(C2[2]), a3 = T(C2[3]), a4 = T(C2[4]);
    B[4] = a0 * x * y, B[5] = a1 * y * z, B[6] = a2 * (2 * zz - xx - yy), B[7] = a3 * x * z, B[8] = a4 * (xx - yy);
    if (dB) {
        dB[4][0] = a0 * y, dB[4][1] = a0 * x, dB[4][2] = 0;
        dB[5][0] = 0, dB[5][1] = a1 * z, dB[5][2] = a1 * y;
        dB[6][0] = -2 * a2 * x, dB[6][1] = -2 * a2 * y, dB[6][2] = 4 * a2 * z;
        dB[7][0] = a3 * z, dB[7][1] = 0, dB[7][2] = a3 * x;
        dB[8][0] = 2 * a4 * x, dB[8][1] = -2 * a4 * y, dB[8][2] = 0;
    }
    if (degree < 3) return;
    const T b0 = T(C3[0]), b1 = T(C3[1]), b2 = T(C3[2]), b3 = T(C3[3]), b4 = T(C3[4]), b5 = T(C3[5]), b6 = T(C3[6]);
    B[9] = b0 * y * (3 * xx - yy);
    B[10] = b1 * x * y * z;
    B[11] = b2 * y * (4 * zz - xx - yy);
    B[12] = b3 * z * (2 * zz - 3 * xx - 3 * yy);
    B[13] = b4 * x * (4 * zz - xx - yy);
    B[14] = b5 * z * (xx - yy);
    B[15] = b6 * x * (xx - 3 * yy);
    if (dB) {
        dB[9][0] = 6 * b0 * x * y, dB[9][1] = b0 * (3 * xx - 3 * yy), dB[9][2] = 0;
        dB[10][0] = b1 * y * z, dB[10][1] = b1 * x * z, dB[10][2] = b1 * x * y;
        dB[11][0] = -2 * b2 * x * y, dB[11][1] = b2 * (4 * zz - xx - 3 * yy), dB[11][2] = 8 * b2 * y * z;
        dB[12][0] = -6 * b3 * x * z, dB[12][1] = -6 * b3 * y * z, dB[12][2] = b3 * (6 * zz - 3 * xx - 3 * yy);
        dB[13][0] = b4 * (4 * zz - 3 * xx - yy), dB[13][1] = -2 * b4 * x * y, dB[13][2] = 8 * b4 * x * z;
        dB[14][0] = 2 * b5 * x * z, dB[14][1] = -2 * b5 * y * z, dB[14][2] = b5 * (xx - yy);
        dB[15][0] = b6 * (3 * xx - 3 * yy), dB[15][1] = -6 * b6 * x * y, dB[15][2] = 0;
    }
}

// unit direction and 1 / max(|d|, 1e-12) (torch's F.normalize)
template <typename T>
inline T normalise(const T *d, T &x, T &y, T &z) {
    const T inv = T(1) / std::max(std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]), T(1e-12));
    x = d[0] * inv, y = d[1] * inv, z = d[2] * inv;
    return inv;
}

// coeffs [C or 1, N, K, 3] (cam_stride 0 when shared by all cameras), dirs [C, N, 3], out colors [C, N, 3]
template <typename T>
void sh_fwd(int64_t C, int64_t N, int64_t K, int degree, const T *dirs, const T *coeffs, int64_t cam_stride,
            const int32_t *radii, T *colors, int n_threads) {
    const int num = (degree + 1) * (degree + 1);
    ns::parallel_blocks(C * N, 4096, n_threads, [&](int, int64_t b, int64_t e) {
        T B[16];
        for (int64_t idx = b; idx < e; ++idx) {
            T *out = colors + 3 * idx;
            if (radii[idx] <= 0) {
                out[0] = out[1] = out[2] = T(0.5);
                continue;
            }
            const int64_t c = idx / N, n = idx % N;
            T x, y, z;
            normalise(dirs + 3 * idx, x, y, z);
            sh_basis<T>(degree, x, y, z, B, nullptr);
            const T *co = coeffs + c * cam_stride + n * K * 3;
            for (int ch = 0; ch < 3; ++ch) {
                T acc = T(0);
                for (int k = 0; k < num; ++k) acc += B[k] * co[3 * k + ch];
                out[ch] = std::max(acc + T(0.5), T(0));
            }
        }
    });
}

// v_coeffs like coeffs (summed over cameras when shared), v_dirs [C, N, 3] (may be null)
template <typename T>
void sh_bwd(int64_t C, int64_t N, int64_t K, int degree, const T *dirs, const T *coeffs, int64_t cam_stride,
            const int32_t *radii, const T *colors, const T *v_colors, T *v_coeffs, T *v_dirs, int n_threads) {
    const int num = (degree + 1) * (degree + 1);
    ns::parallel_blocks(N, 2048, n_threads, [&](int, int64_t b, int64_t e) {
        T B[16], dB[16][3];
        for (int64_t n = b; n < e; ++n) {
            for (int64_t c = 0; c < C; ++c) {
                const int64_t idx = c * N + n;
                T *vco = v_coeffs + c * cam_stride + n * K * 3;
                if (cam_stride != 0 || c == 0)
                    for (int64_t k = 0; k < 3 * K; ++k) vco[k] = T(0);
                if (v_dirs) v_dirs[3 * idx] = v_dirs[3 * idx + 1] = v_dirs[3 * idx + 2] = T(0);
                if (radii[idx] <= 0) continue;
                T vc[3];
                for (int ch = 0; ch < 3; ++ch)  // clamp_min(., 0): no gradient where clamped
                    vc[ch] = colors[3 * idx + ch] > T(0) ? v_colors[3 * idx + ch] : T(0);
                T x, y, z;
                const T inv = normalise(dirs + 3 * idx, x, y, z);
                sh_basis<T>(degree, x, y, z, B, v_dirs ? dB : nullptr);
                const T *co = coeffs + c * cam_stride + n * K * 3;
                T vn[3] = {0, 0, 0};
                for (int k = 0; k < num; ++k) {
                    for (int ch = 0; ch < 3; ++ch) vco[3 * k + ch] += B[k] * vc[ch];
                    if (v_dirs) {
                        const T g = co[3 * k] * vc[0] + co[3 * k + 1] * vc[1] + co[3 * k + 2] * vc[2];
                        vn[0] += dB[k][0] * g, vn[1] += dB[k][1] * g, vn[2] += dB[k][2] * g;
                    }
                }
                if (v_dirs) {
                    const T dot = vn[0] * x + vn[1] * y + vn[2] * z;
                    v_dirs[3 * idx] = (vn[0] - dot * x) * inv;
                    v_dirs[3 * idx + 1] = (vn[1] - dot * y) * inv;
                    v_dirs[3 * idx + 2] = (vn[2] - dot * z) * inv;
                }
            }
        }
    });
}

}  // namespace

#define NS_SH(T, S)                                                                                                \
    extern "C" int ns_sh_fwd_##S(int64_t C, int64_t N, int64_t K, int degree, const T *dirs, const T *coeffs,      \
                                 int64_t cam_stride, const int32_t *radii, T *colors, int n_threads) {             \
        sh_fwd<T>(C, N, K, degree, dirs, coeffs, cam_stride, radii, colors, n_threads);                            \
        return 0;                                                                                                  \
    }                                                                                                              \
    extern "C" int ns_sh_bwd_##S(int64_t C, int64_t N, int64_t K, int degree, const T *dirs, const T *coeffs,      \
                                 int64_t cam_stride, const int32_t *radii, const T *colors, const T *v_colors,     \
                                 T *v_coeffs, T *v_dirs, int n_threads) {                                          \
        sh_bwd<T>(C, N, K, degree, dirs, coeffs, cam_stride, radii, colors, v_colors, v_coeffs, v_dirs, n_threads); \
        return 0;                                                                                                  \
    }

NS_SH(float, f32)
NS_SH(double, f64)
