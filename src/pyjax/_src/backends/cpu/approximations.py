"""The coefficients of XLA's float32 (and float64) approximations that pyjax
reproduces: lax's NumPy kernels and the native kernels evaluate the same polynomials,
so both read them here."""
from __future__ import annotations

import numpy as np

# XLA's CPU tanh for float32 is a rational minimax approximation (Eigen's, evaluated with
# fused multiply-adds), not the correctly rounded value NumPy's float32 tanh approximates.
# Evaluating the same rational function gives JAX's bits exactly (the tour prints them).
TANH_NUMERATOR = (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                  5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                  4.89352455891786e-03)
TANH_DENOMINATOR = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                    4.89352518554385e-03)
TANH_CLAMP = np.float32(7.99881172180175781)
# |x| < 0.0004 (where tanh(x) is x) exactly when x*x rounds below 0.0004*0.0004: squaring
# rounds monotonically and the float below 0.0004 squares to less.
TANH_TINY = np.array(np.float32(0.0004) * np.float32(0.0004))

# Cephes' logf polynomial (as Eigen's plog_float), float32 constants.
LOGF_P = tuple(np.float32(c) for c in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
LOGF_Q1, LOGF_Q2 = np.float32(-2.12194440e-4), np.float32(0.693359375)
SQRT_HALF_F32 = np.float32(0.707106781186547524)

# log1p(x) = x - x**2/2 + x**3 * P(x)/Q(x) for |x| < sqrt(2) - 1, else log(1 + x).
LOG1P_P = tuple(float.fromhex(h) for h in (
    "0x1.7bc0962b395cap-15", "0x1.fe818a0fe1a83p-2", "0x1.a509f46f4fa53p+2",
    "0x1.de9738b8cb9c9p+4", "0x1.e798eb86c3351p+5", "0x1.c8e7597479a10p+5",
    "0x1.40a202d99830ap+4"))
LOG1P_Q = (1.0,) + tuple(float.fromhex(h) for h in (
    "0x1.e20359e903e37p+3", "0x1.4c30b52213498p+6", "0x1.bb86590fcfb56p+7",
    "0x1.351945dc908a5p+8", "0x1.b0db13e48e066p+7", "0x1.e0f304466448ep+5"))
LOG1P_SMALL = float.fromhex("0x1.a827999fcef32p-2")

# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): one polynomial in
# t per range of w = -log(1 - x**2), highest degree first.
ERFINV_F32 = (
    (5.0, -2.5, False, (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                        2.1858087e-04, -1.25372503e-03, -4.17768164e-03, 2.46640727e-01,
                        1.50140941)),
    (np.inf, -3.0, True, (-2.00214257e-04, 1.00950558e-04, 1.34934322e-03, -3.67342844e-03,
                          5.73950773e-03, -7.6224613e-03, 9.43887047e-03, 1.00167406,
                          2.83297682)),
)
ERFINV_F64 = (
    (6.25, -3.125, False, (
        -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
        1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
        6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
        2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
        1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
        4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
        0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
        0.24015818242558961693, 1.6536545626831027356)),
    (16.0, -3.25, True, (
        2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
        1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
        2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
        6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
        0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
        -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
        3.0838856104922207635)),
    (np.inf, -5.0, True, (
        -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
        -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
        2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
        -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
        7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
        1.0103004648645343977, 4.8499064014085844221)),
)

# NumPy's float32 exp, sin and cos where its SIMD loops run (x86 with AVX2 and FMA3, or
# AVX512F: ``numpy/_core/src/umath``), which ``c_kernels.functions_source`` reproduces:
# exp reduces by k = rint(x log2 e) with ln 2 in two parts (one multiply-add each) and
# takes P/Q of the remainder times 2^k; sin and cos reduce by k = rint(x 2/pi) with pi/2
# in three parts and take the sine or cosine polynomial by k's quadrant (libm's
# ``sinf``/``cosf`` beyond the bound where that reduction is exact enough).
EXP_F32_BOUNDS = (np.float32(-103.97208404541015625), np.float32(88.72283935546875))
EXP_F32_LN2 = (np.float32(-6.93145752e-1), np.float32(-1.42860677e-6))  # -ln 2, two parts
EXP_F32_P = tuple(np.float32(c) for c in (  # highest degree first
    5.082762527590693718096e-04, 6.757896990527504603057e-03, 5.114512081637298353406e-02,
    2.473615434895520810817e-01, 7.257664613233124478488e-01, 9.999999999980870924916e-01))
EXP_F32_Q = tuple(np.float32(c) for c in (
    2.159509375685829852307e-02, -2.742335390411667452936e-01, 1.0))
EXP_F32_LOG2E = np.float32(1.442695040888963407359924681001892137)
RINT_MAGIC_F32 = np.float32(3 << 22)  # x + M - M rounds x to an integer (|x| < 2^22)
SINCOS_F32_BOUNDS = (np.float32(117435.992), np.float32(71476.0625))  # sin, cos
# 2/pi: k = x * 2/pi + RINT_MAGIC_F32 - RINT_MAGIC_F32, the first two one multiply-add
# (NumPy's build contracts them: two roundings differ on ~23 K float32 inputs)
SINCOS_F32_2_PI = np.float32(float.fromhex("0x1.45f306p-1"))
SINCOS_F32_PIO2 = tuple(np.float32(float.fromhex(h)) for h in (  # -pi/2, three parts
    "-0x1.921fb0p+00", "-0x1.5110b4p-22", "-0x1.846988p-48"))
SIN_F32 = tuple(np.float32(float.fromhex(h)) for h in (
    "0x1.7d3bbcp-19", "-0x1.a06bbap-13", "0x1.11119ap-07", "-0x1.555556p-03"))
COS_F32 = tuple(np.float32(float.fromhex(h)) for h in (
    "0x1.98e616p-16", "-0x1.6c06dcp-10", "0x1.55553cp-05", "-0x1.000000p-01", "1.0"))
