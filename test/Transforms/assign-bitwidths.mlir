// qnt-assign-bitwidths: under a budget, the layer whose weights have
// outliers (large int4 error) gets the wider scheme.
// RUN: quant-opt %s --qnt-assign-bitwidths="candidates=4:32,8:32 budget=avg-bits:7.0 report=%t.json pareto=%t.csv report-table=true" 2>%t.table | FileCheck %s
// RUN: FileCheck %s --check-prefix=TABLE < %t.table
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: FileCheck %s --check-prefix=CSV < %t.csv
// A budget below every layer at 4 bits (4 + 32/32 = 5 bits per weight) fails.
// RUN: not quant-opt %s --qnt-assign-bitwidths="candidates=4:32,8:32 budget=avg-bits:4.5" 2>&1 | FileCheck %s --check-prefix=INFEASIBLE
// RUN: not quant-opt %s --qnt-assign-bitwidths="candidates=4:7:sym budget=avg-bits:4.5" 2>&1 | FileCheck %s --check-prefix=BADCAND
// RUN: not quant-opt %s --qnt-assign-bitwidths="budget=speed:3" 2>&1 | FileCheck %s --check-prefix=BADBUDGET
// RUN: not quant-opt %s --qnt-assign-bitwidths="budget=latency-us:1 batch=-1" 2>&1 | FileCheck %s --check-prefix=BADBATCH
// RUN: not quant-opt %s --qnt-assign-bitwidths="budget=latency-us:1 batch=9223372036854775807" 2>&1 | FileCheck %s --check-prefix=HUGEBATCH
// RUN: not quant-opt %s --qnt-assign-bitwidths="budget=latency-us:inf" 2>&1 | FileCheck %s --check-prefix=INFBUDGET
// Measured sensitivities replace the proxy: here they call the smooth layer
// the sensitive one, so it gets the 8 bits.
// RUN: printf '# measured\nsmooth 4:32 9.0\nsmooth 8:32 0.1\noutliers 4:32 1.0\noutliers 8:32 0.5\n' > %t.sens
// RUN: quant-opt %s --qnt-assign-bitwidths="candidates=4:32,8:32 budget=avg-bits:7.0 sensitivities=%t.sens" | FileCheck %s --check-prefix=MEASURED
// RUN: printf 'smooth 4:32\n' > %t.bad
// RUN: not quant-opt %s --qnt-assign-bitwidths="sensitivities=%t.bad" 2>&1 | FileCheck %s --check-prefix=BADSENS
// RUN: not quant-opt %s --qnt-assign-bitwidths="target=%t.missing" 2>&1 | FileCheck %s --check-prefix=NOTARGET
// RUN: printf 'name = x\nbandwidth = 3\n' > %t.target
// RUN: not quant-opt %s --qnt-assign-bitwidths="target=%t.target" 2>&1 | FileCheck %s --check-prefix=BADTARGET
// RUN: printf 'smooth 1 2 3\n' > %t.stats
// RUN: not quant-opt %s --qnt-assign-bitwidths="calibration=%t.stats" 2>&1 | FileCheck %s --check-prefix=STATSK
// RUN: printf '# E[x^2]\n\nsmooth -1\n' > %t.negstats
// RUN: not quant-opt %s --qnt-assign-bitwidths="calibration=%t.negstats" 2>&1 | FileCheck %s --check-prefix=STATSNEG
// 'eigen' lines (directions of E[x x^T]) must match their layer's E[x_k^2]
// line: as many values, and no more energy on a channel than it has.
// RUN: printf '# H\nsmooth 1 2 3\nsmooth eigen 4 1 0\n' > %t.eigenstats
// RUN: not quant-opt %s --qnt-assign-bitwidths="calibration=%t.eigenstats" 2>&1 | FileCheck %s --check-prefix=STATSEIGEN
// RUN: printf 'smooth 1 2\nsmooth eigen 5 1 0\n' > %t.bigstats
// RUN: not quant-opt %s --qnt-assign-bitwidths="calibration=%t.bigstats" 2>&1 | FileCheck %s --check-prefix=STATSBIG
// --only quantizes just the named layers.
// RUN: quant-opt %s --qnt-quantize-weights="only=outliers" | FileCheck %s --check-prefix=ONLY
// The chosen schemes are what qnt-quantize-weights then produces.
// RUN: quant-opt %s --qnt-assign-bitwidths="candidates=4:32,8:32 budget=avg-bits:7.0" --qnt-quantize-weights | FileCheck %s --check-prefix=QUANT

// CHECK-LABEL: func.func @two_layers
//       CHECK:   linalg.matmul {{.*}} {qnt.scheme = #qnt.scheme<si4, symmetric, per_group<1, 32>>}
//       CHECK:   linalg.matmul {{.*}} {qnt.scheme = #qnt.scheme<si8, symmetric, per_group<1, 32>>}
// TABLE: smooth 8x64 si4 g32
// TABLE: outliers 8x64 si8 g32
// TABLE: total: 896 bytes, 7.000 bits per weight
// JSON: "name": "smooth"
// JSON: "scheme": "si4 g32"
// JSON: "name": "outliers"
// JSON: "scheme": "si8 g32"
// JSON: "bits_per_weight": 7
// CSV: avg-bits,total_sensitivity
// CSV-NEXT: 5.00,2.05
// CSV: 9.00,8.5
// INFEASIBLE: error: qnt-assign-bitwidths: budget avg-bits:4.5 cannot be met by the candidate schemes; the smallest feasible budget is avg-bits:5.0000
// BADCAND: error: qnt-assign-bitwidths option candidate '4:7:sym' is not BITS:GROUP, BITS:GROUP:asym or f32 (BITS 1 to 8, GROUP 0 to 1048576)
// BADBUDGET: error: qnt-assign-bitwidths option budget 'speed:3' must be avg-bits:X, bytes:N or latency-us:T
// BADBATCH: error: qnt-assign-bitwidths option batch=-1 is out of range [1, 65536]
// HUGEBATCH: error: qnt-assign-bitwidths option batch=9223372036854775807 is out of range [1, 65536]
// INFBUDGET: error: qnt-assign-bitwidths option budget 'latency-us:inf' needs a positive number
// MEASURED-LABEL: func.func @two_layers
//       MEASURED:   linalg.matmul {{.*}} {qnt.scheme = #qnt.scheme<si8, symmetric, per_group<1, 32>>}
//       MEASURED:   linalg.matmul {{.*}} {qnt.scheme = #qnt.scheme<si4, symmetric, per_group<1, 32>>}
// BADSENS: error: qnt-assign-bitwidths: sensitivities {{.*}}.bad:1: expected 'NAME BITS:GROUP[:asym] VALUE' with VALUE >= 0
// NOTARGET: error: qnt-assign-bitwidths: cannot read target '{{.*}}.missing': No such file or directory
// BADTARGET: error: qnt-assign-bitwidths: target '{{.*}}.target': line 2: unknown key 'bandwidth'
// STATSK: model.mlir:1:1: error: 'linalg.matmul' op calibration statistics of layer 'smooth' ({{.*}}.stats:1) have 3 values, the layer has K = 64
// STATSNEG: error: qnt-assign-bitwidths: calibration statistics {{.*}}.negstats:3: layer 'smooth': E[x_k^2] value '-1' is negative
// STATSEIGEN: error: qnt-assign-bitwidths: calibration statistics {{.*}}.eigenstats:3: layer 'smooth': 'eigen' line has 2 values after the eigenvalue, its E[x_k^2] line (line 2) has 3
// STATSBIG: error: qnt-assign-bitwidths: calibration statistics {{.*}}.bigstats:1: layer 'smooth': channel 0 has E[x_k^2] = 1, less than its 'eigen' lines give it (5)
// ONLY: arith.constant dense<{{.*}}> : tensor<8x64xf32>
// ONLY: qnt.constant {codes = dense_resource<outliers.codes>
// ONLY-NOT: qnt.constant
// QUANT: qnt.constant {{.*}} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
// QUANT: qnt.constant {{.*}} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_group<1, 32>>>
func.func @two_layers(%x: tensor<1x64xf32>, %o: tensor<1x8xf32>) -> (tensor<1x8xf32>, tensor<1x8xf32>) {
  %a = arith.constant dense<[[0.2041, -0.2556, 0.0418, -0.0568, -0.0453, -0.0216, -0.2020, -0.0232, -0.0865, 0.3323, 0.0226, -0.0353, -0.0281, -0.0668, -0.1055, -0.0391, 0.0482, -0.0239, 0.0958, -0.0200, 0.0024, 0.1546, 0.0545, -0.0505, -0.0183, 0.0541, 0.1935, -0.0270, -0.0244, 0.1002, -0.0886, -0.0292, 0.0883, 0.0580, 0.0092, 0.0670, -0.2828, 0.1021, -0.0960, -0.1669, 0.0276, 0.0701, -0.0445, -0.1076, 0.0026, -0.0053, 0.1406, 0.0747, 0.0194, 0.1112, -0.0206, -0.0926, 0.0584, 0.0583, -0.0215, -0.0783, 0.0229, -0.2494, 0.0690, 0.0491, -0.1639, 0.0061, -0.0964, 0.0757], [-0.2034, -0.0914, 0.0710, 0.1156, -0.2158, -0.0498, 0.0328, -0.0609, 0.1591, -0.1191, 0.0355, -0.1048, 0.1406, -0.0022, -0.0372, -0.1718, 0.1682, 0.0753, 0.0754, 0.1138, 0.0349, -0.0639, -0.0800, -0.0800, 0.1370, -0.1460, -0.0596, -0.0321, 0.0225, 0.0575, -0.1249, -0.1730, -0.0004, 0.1214, 0.0757, 0.0216, -0.0317, 0.0293, -0.0243, 0.0817, -0.0794, 0.0134, -0.0111, 0.0543, 0.0225, 0.2550, 0.1499, 0.1497, -0.2040, -0.0340, -0.0609, 0.0533, -0.2279, 0.1174, 0.1067, -0.1302, -0.0979, -0.0801, 0.0043, 0.0641, 0.2048, -0.0197, 0.0768, 0.0155], [0.1760, 0.0742, 0.1369, -0.1078, -0.0192, -0.0814, 0.1505, 0.0658, -0.0305, -0.0452, 0.0485, -0.0701, -0.0931, 0.0481, 0.2463, -0.0246, -0.0556, -0.1171, -0.1335, 0.0525, 0.0851, 0.0009, 0.0333, 0.0116, 0.0139, -0.1526, -0.0458, 0.0111, -0.0783, -0.0476, -0.0819, -0.0333, 0.0853, -0.0407, -0.0154, 0.0814, 0.0645, 0.1695, -0.2090, 0.0857, -0.0482, 0.0135, 0.0838, 0.1083, 0.1039, 0.0155, 0.1610, -0.0283, -0.0141, 0.0799, -0.0551, 0.2161, 0.1019, 0.2176, -0.0027, -0.0383, 0.0167, 0.0735, -0.0587, 0.0380, -0.0017, 0.1616, -0.0663, 0.1046], [-0.0644, -0.0961, -0.0710, -0.1190, 0.0146, 0.1031, 0.0164, 0.0624, 0.1632, 0.0270, 0.0195, -0.0275, -0.1608, 0.0760, -0.1756, 0.0653, -0.0014, 0.1127, -0.0068, -0.0823, 0.0358, -0.0560, -0.0181, 0.0042, -0.0135, -0.0189, -0.0832, -0.0189, -0.2138, -0.0157, -0.1198, 0.1120, 0.1270, -0.1951, 0.0145, -0.0126, -0.1047, 0.0532, -0.0462, -0.1768, -0.0267, -0.0148, 0.0106, -0.1231, 0.0616, 0.0735, -0.1146, -0.0659, -0.0080, -0.0566, 0.1744, 0.0208, -0.1011, -0.0788, -0.0057, 0.2296, -0.0178, 0.0127, 0.0514, -0.0040, 0.2281, -0.0532, 0.0744, 0.0160], [0.0621, -0.1177, 0.1768, -0.0122, 0.0034, -0.0935, -0.0730, 0.0564, 0.0986, 0.0753, 0.1209, 0.0714, 0.0028, 0.0837, 0.0594, -0.0101, 0.0726, 0.1286, 0.0235, -0.0356, 0.0719, 0.1901, -0.0211, -0.0092, -0.0136, 0.1223, -0.1837, 0.0366, 0.1192, -0.0813, 0.1489, 0.0535, -0.0549, 0.0204, -0.1534, -0.0566, 0.1827, -0.0894, 0.1845, -0.0082, 0.0995, 0.0044, -0.2241, -0.0573, 0.0190, -0.1151, -0.1347, 0.0366, -0.0649, -0.1696, -0.0684, 0.0861, -0.0474, 0.0935, 0.1527, 0.0033, -0.1130, -0.1302, -0.0026, 0.0881, 0.0269, 0.0547, -0.0443, 0.0300], [-0.0471, -0.0326, -0.1292, -0.1572, -0.0482, -0.1108, -0.0959, 0.0671, -0.0107, 0.2914, 0.0926, -0.0633, 0.0778, 0.0357, -0.0686, 0.1103, -0.0775, -0.3058, 0.0794, -0.0617, 0.1486, -0.0650, -0.1181, 0.1548, -0.1075, 0.0203, 0.1450, 0.0114, -0.0081, 0.0102, 0.0839, -0.0807, 0.0611, 0.0577, 0.2333, -0.0337, -0.0915, 0.0736, -0.0397, 0.0289, 0.0133, 0.1168, -0.0657, -0.0092, -0.2552, -0.0890, 0.1536, -0.0682, -0.0701, -0.1218, 0.0580, 0.0178, -0.1187, 0.0667, 0.0260, 0.0754, -0.0641, 0.1738, 0.0410, -0.0117, -0.0519, -0.0245, 0.0859, -0.0269], [0.1078, 0.0581, 0.1346, 0.0814, -0.0063, -0.1909, 0.0299, 0.0789, 0.0163, 0.0556, -0.0472, -0.0380, -0.0942, 0.1362, 0.0158, -0.0492, -0.1332, -0.0153, 0.1443, 0.0462, -0.0725, 0.1429, 0.1429, 0.0981, 0.0789, 0.1156, 0.0543, 0.0775, -0.0780, 0.1500, 0.0231, 0.2024, -0.2042, 0.0705, 0.0981, -0.0343, 0.0452, 0.0748, 0.0577, -0.0540, -0.0142, 0.1019, 0.1277, 0.0099, 0.0077, 0.0200, 0.1038, -0.1054, -0.1329, 0.0124, -0.1107, -0.0587, 0.0086, 0.0483, -0.1072, 0.0802, -0.1774, 0.0545, -0.1578, -0.1275, 0.0642, -0.0406, -0.0796, -0.0445], [0.0465, -0.0054, -0.0029, 0.1055, -0.0716, -0.0472, -0.0522, 0.1169, 0.0991, 0.1287, -0.0034, -0.0157, 0.0853, -0.0394, 0.0831, 0.0724, -0.0698, -0.0083, -0.0119, 0.1733, 0.2588, -0.0100, 0.0014, -0.2282, 0.0212, -0.0007, -0.1073, 0.0786, -0.1566, -0.0215, 0.0139, -0.1249, 0.0857, 0.1056, -0.1386, -0.1408, 0.0602, -0.0030, -0.1211, -0.0295, -0.0108, -0.0143, 0.0827, 0.0384, 0.1769, 0.1374, 0.0678, 0.1077, 0.1324, 0.0706, -0.1226, 0.0859, 0.0072, 0.1619, 0.0093, 0.0526, 0.0330, 0.1681, 0.0177, -0.0270, 0.0309, -0.0440, 0.0162, -0.0007]]> : tensor<8x64xf32>
  %b = arith.constant dense<[[0.0272, 0.1923, -0.0406, 0.0037, -0.0199, 0.0673, -0.1182, -0.0693, -0.0039, 0.0546, -0.0046, -0.0500, -0.0867, 0.0512, 2.5000, 0.0323, 0.0188, 0.0444, -0.0943, -0.0312, -0.0268, 0.0295, -0.0032, -0.1216, 0.1125, 0.1692, -0.0263, 0.0399, 0.0267, 0.0785, -0.1480, 0.1613, -0.0468, 0.1264, 0.0081, -0.0390, -0.0140, 0.0897, -0.0863, -0.0375, -0.0482, -0.1715, 0.1300, 0.0579, -0.0021, 0.1164, -0.0956, -0.0073, 0.1725, 0.0980, -0.2225, -0.3332, -0.1038, 0.1061, -0.0472, -0.0218, 0.0608, -0.0885, 0.0213, 0.0792, 0.0467, 0.0396, -0.0602, 0.0514], [-0.0428, 0.1305, 0.2570, -0.0740, -0.2175, -0.0425, 0.0377, 0.1050, 0.1079, -0.0784, -0.0793, 0.1267, -0.1092, 0.1090, -0.0227, 0.0766, 0.0706, 0.0777, 0.0820, -0.0989, 0.0298, 0.0014, 0.0308, 0.1233, -0.0271, -0.0712, -0.0728, -0.0311, 0.0753, -0.0815, 0.1159, 0.0290, -0.0226, -0.1332, 0.0245, 0.0691, -0.1766, 0.1192, 0.1648, 0.0339, 0.0492, 0.2414, 0.1232, -0.0898, -0.0017, -0.0157, -0.0151, -0.2364, 0.0757, -0.0637, 0.0164, -0.0136, 0.0871, -0.0296, 2.5000, 0.0532, 0.1405, -0.0320, 0.1370, 0.0262, -0.0533, 0.1525, -0.0819, 0.1014], [-0.0498, 0.0450, -0.1234, -0.0838, 0.1065, 0.0188, 0.0038, -0.0440, 0.0446, -0.1397, -0.1120, -0.0158, -0.0834, -0.0701, -0.0072, -0.0138, -0.0223, 0.1665, 0.1011, 0.1230, -0.0028, -0.0505, -0.1454, -0.0348, -0.2086, -0.0584, 0.0764, 0.1622, 2.5000, -0.0862, 0.0493, -0.0789, 0.0823, -0.0111, 0.0858, 0.2573, 0.0923, 0.2332, 0.0177, -0.0330, 0.1334, 0.1724, -0.0555, 0.0077, -0.1435, -0.0200, 0.0888, -0.0086, -0.0569, -0.1407, 0.0368, 0.0798, 0.0597, 0.0255, -0.1274, 0.1762, -0.0057, -0.0145, 0.0733, -0.2163, -0.0064, -0.0137, 0.0372, 0.1347], [0.0472, -0.1832, -0.0339, 0.0206, 0.0147, -0.1281, -0.1664, 0.0549, 0.0344, -0.0021, -0.1725, 0.1774, -0.2900, -0.0364, 0.2091, -0.0157, 0.0232, -0.1179, 0.1359, -0.1293, 0.0254, 0.0135, -0.1051, 0.0887, -0.1416, -0.0683, -0.0029, -0.0412, 0.0468, 0.0924, -0.0294, -0.0541, -0.0517, -0.0366, 0.0810, -0.0218, 2.5000, -0.0091, -0.0844, 0.0864, -0.1038, 0.0006, 0.1487, -0.1093, -0.0055, -0.1585, -0.0509, -0.1495, -0.0362, -0.0538, 0.0132, 0.1584, 0.0283, 0.0658, -0.0051, -0.0245, -0.0834, -0.1801, 0.0069, 0.1629, 0.0476, -0.0534, 0.1649, -0.0433], [-0.0619, -0.1213, -0.0962, -0.0246, 0.1999, -0.0206, -0.1032, -0.0605, -0.0223, -0.1712, 0.0127, 0.0701, 0.0321, 0.0601, -0.1290, -0.1699, 0.1286, 2.5000, -0.1540, 0.0206, 0.0026, 0.0545, 0.0209, -0.0502, 0.0195, 0.0157, -0.0049, -0.1852, -0.2995, -0.0790, -0.1635, 0.0253, 0.0716, 0.0263, -0.0370, 0.0070, 0.1167, -0.0729, 0.0922, 0.0708, 0.0262, 0.1452, -0.0718, 0.0943, -0.0929, -0.0767, -0.1060, 0.0446, -0.0940, 0.0052, -0.1137, 0.1066, 0.1836, 0.0226, 0.1643, 0.0561, 0.2169, 0.0100, -0.1570, 0.1491, -0.0126, -0.1036, -0.0656, -0.1626], [-0.0168, -0.1071, 0.1484, 0.0664, -0.1660, -0.1509, -0.0567, -0.1925, -0.0110, -0.0043, -0.0773, -0.0546, 0.0499, 0.1422, 0.1496, 2.5000, 0.0856, -0.0738, 0.0412, -0.0960, 0.0730, -0.1238, -0.0965, -0.0008, 0.0557, -0.1438, -0.0537, 0.0135, 0.0229, -0.0839, 0.0097, -0.0267, 0.1404, 0.0557, -0.1324, -0.2202, 0.0100, 0.1182, 0.0174, 0.0882, -0.0485, -0.1364, 0.0749, 0.0099, 0.0684, -0.1382, 0.0182, -0.0626, 0.0807, -0.0581, -0.0607, -0.0586, 0.1264, 0.0029, -0.0760, -0.1023, -0.1044, 0.1463, -0.1815, -0.0850, 0.0638, 0.1178, -0.0148, 0.0786], [0.0760, 2.5000, 0.0046, 0.1655, 0.0216, 0.1548, -0.1083, 0.0961, -0.1235, -0.1476, 0.0525, -0.0800, 0.0477, -0.1039, 0.1640, 0.0045, -0.1094, 0.0216, 0.0924, -0.0727, 0.0562, 0.2093, 0.0915, 0.0039, -0.0520, 0.0629, -0.1464, -0.2986, -0.0613, -0.1028, 0.1800, 0.0196, -0.0928, -0.1105, 0.0558, -0.0771, -0.0522, -0.0030, 0.0150, 0.0161, 0.0179, 0.1368, 0.1769, -0.1585, 0.2646, 0.0199, 0.1315, -0.0668, 0.0397, 0.0288, 0.0186, 0.0926, 0.0706, -0.0931, -0.0043, 0.0803, 0.0762, -0.0261, -0.0206, -0.0079, -0.1029, -0.1212, 0.1645, -0.0320], [0.0171, -0.0673, 0.1373, 0.1828, -0.0145, 2.5000, -0.0680, 0.1840, 0.1001, -0.0765, 0.1323, 0.0435, 0.0489, 0.0432, -0.0594, -0.0464, 0.0696, 0.0024, -0.0876, 0.2103, -0.0138, -0.0488, -0.0627, 0.0760, 0.1045, 0.0315, 0.0938, -0.1430, -0.0303, -0.0402, 0.0073, 0.0555, -0.1973, 0.3191, -0.0803, 0.0409, 0.0891, 0.0913, 0.0302, -0.2851, -0.1029, 0.0815, -0.0867, -0.1003, -0.2305, 0.1267, 0.0557, -0.0849, -0.0091, -0.0061, -0.1079, -0.0239, 0.0287, 0.0584, 0.1296, 0.0057, -0.0436, 0.0428, -0.0605, -0.1228, 0.1166, -0.0360, 0.0142, 0.0670]]> : tensor<8x64xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %a : tensor<1x64xf32>, tensor<8x64xf32>) outs(%o : tensor<1x8xf32>) -> tensor<1x8xf32> loc("smooth"("model.mlir":1:1))
  %z = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %b : tensor<1x64xf32>, tensor<8x64xf32>) outs(%o : tensor<1x8xf32>) -> tensor<1x8xf32> loc("outliers"("model.mlir":2:1))
  return %y, %z : tensor<1x8xf32>, tensor<1x8xf32>
}
