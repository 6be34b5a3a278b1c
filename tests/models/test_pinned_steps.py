"""One seeded training step of every family gives the weights and optimizer state it
gave when these values were pinned (before the consolidation of issue 31).

Each case builds its model from `tests/families.py`, sets every weight from NumPy
(so the pins do not hang on Keras' initializers), takes one `fit` step on a fixed
batch with the family's default optimizers and XLA off (XLA draws other random
numbers), then reads a few values of each network's weights and of each
optimizer's variables at fixed positions. A refactor that keeps the maths keeps
them to 1e-6. To pin anew after a deliberate change of the maths:
`python -m tests.models.test_pinned_steps` prints the table.
"""

import numpy as np
import pytest

BATCH = 16
POSITIONS = 6  # values read per network and per optimizer


def _partly_labelled():
    labels = np.arange(BATCH) % 10
    labels[[0, 3, 5, 8, 9, 14]] = -1
    return labels


CASES = {
    "aae_paper": ("aae", {"input_noise": 0.2}, None),
    "aae_joint_penalty": (
        "aae", {"schedule": "joint", "prior": "uniform", "gradient_penalty": 1.0}, None
    ),
    "aae_variational": ("aae", {"variational": True, "prior": "mixture"}, None),
    "supervised_aae": ("supervised_aae", {"conditional_discriminator": True}, "labels"),
    "label_regularized_aae": (
        "label_regularized_aae", {"unlabelled_class": True, "prior": "swiss_roll"},
        "partly",
    ),
    "semi_supervised_aae": (
        "semi_supervised_aae",
        {"unsupervised_rows": "unlabelled", "input_noise": 0.3}, "partly",
    ),
    "semi_supervised_aae_options": (
        "semi_supervised_aae",
        {
            "conditional_discriminator": True, "input_noise": 0.3,
            "consistency_weight": 10.0, "consistency_rampup": 5, "teacher_decay": 0.5,
            "virtual_adversarial_weight": 1.0,
        },
        "partly",
    ),
    "disentangling_ae": ("disentangling_ae", {"clf_z_steps": 2}, "labels"),
    "info_gan": ("info_gan", {}, "labels"),
    "info_gan_gaussian_codes": ("info_gan", {"code_loss": "gaussian"}, "labels"),
    "conditional_vae": ("conditional_vae", {"dropout": 0.3}, "labels"),
    "vae_gan": ("vae_gan", {"dropout": 0.3}, "labels"),
    "vae_gan_unbalanced": ("vae_gan", {"balance": False}, "labels"),
    "cvae_gan": ("cvae_gan", {"centre_decay": 0.5}, "labels"),
}


def _set_weights(model, rng):
    for variable in model.weights:
        shape = tuple(variable.shape)
        if any(word in variable.path for word in ("gamma", "variance")):
            value = 1.0 + 0.1 * np.abs(rng.standard_normal(shape))
        elif len(shape) < 2:
            value = 0.01 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))
        variable.assign(value.astype(variable.dtype))


def _read(arrays):
    flat = np.concatenate([np.ravel(np.asarray(a, "float64")) for a in arrays])
    at = np.linspace(0, len(flat) - 1, POSITIONS).round().astype(int)
    return [float(v) for v in flat[at]] + [float(np.sum(np.abs(flat)))]


def one_step(case):
    """`{"<network>": values, "<role>": values}` after one seeded step of `case`."""
    import keras

    from tests import families

    factory, options, labels = CASES[case]
    keras.utils.set_random_seed(0)
    model = getattr(families, factory)(**options)
    _set_weights(model, np.random.default_rng(1))
    if getattr(model, "teacher_variables", None):
        for teacher, variable in zip(model.teacher_variables, model.encoder.trainable_variables):
            teacher.assign(variable)
    model.compile(jit_compile=False)
    rng = np.random.default_rng(2)
    images = rng.random((BATCH, 28, 28, 1)).astype("float32")
    y = {None: None, "labels": np.arange(BATCH) % 10, "partly": _partly_labelled()}[labels]
    model.fit(images, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    values = {}
    for name, network in sorted(vars(model).items()):
        if isinstance(network, keras.Model) and not name.startswith("_"):
            values[name] = _read([keras.ops.convert_to_numpy(w) for w in network.weights])
    if getattr(model, "teacher_variables", None):
        values["teacher"] = _read([keras.ops.convert_to_numpy(w) for w in model.teacher_variables])
    if getattr(model, "centre_sums", None) is not None:
        values["centre_sums"] = _read([keras.ops.convert_to_numpy(model.centre_sums)])
    for role in model.optimizer_roles():
        optimizer = getattr(model, role)
        values[role] = _read([keras.ops.convert_to_numpy(v) for v in optimizer.variables])
    return values


# Values pinned at commit 07a2373 (before issue 31; `cvae_gan` when it was added).
# Optimizer roles are keyed by their names at the time of the test.
PINNED = {
    'cvae_gan': {
        'centre_sums': [-0.0709513575, 0.136934921, -0.153668046, 0.193770811, 0.343552053, 0.529801846, 437.220386],
        'classifier': [0.182082728, 0.0442611277, 0.0235633031, -0.0271516982, -0.00395979919, -0.022924751, 2882.37432],
        'classifier_optimizer': [1, -0.00185656175, -9.15694254e-05, 2.20239631e-08, 1.01540672e-10, 4.14357964e-06, 169.747394],
        'decoder': [-0.235689938, 0.455784202, -0.00748094916, -0.0129678221, 0.0199000239, 0.0089382967, 20878.7234],
        'decoder_optimizer': [1, 3.82329411e-12, 0.0046447604, 0.00253535062, 2.55094701e-08, 0.0101371873, 2238.11655],
        'discriminator': [-0.0838213563, -0.0441956632, 0.0229607578, 0.0106457993, 0.0301717576, -0.00344027788, 2777.00433],
        'discriminator_optimizer': [1, 0.000521722599, -0.00219226279, 9.68250617e-08, 5.66929392e-10, 0.000451686938, 501.161692],
        'encoder': [0.180754915, 0.00236015022, 0.00399540318, -0.00604867982, 0.000221190698, -0.00428120745, 3817.49965],
        'encoder_optimizer': [1, 0.00430132821, -8.06591343e-05, 2.75196381e-08, 4.45925696e-09, 0.000115517869, 1345.23032],
    },
    'aae_joint_penalty': {
        'autoencoder_optimizer': [1, -2.50858102e-05, 3.59602625e-11, 5.06899767e-07, 4.81449451e-16, 8.97764773e-13, 4.13212305],
        'discriminator_optimizer': [1, -0.00289459527, 5.7862426e-08, 0.000676358235, -0.0938128829, 2.42680809e-08, 6.34351295],
        'decoder': [0.171307579, -0.166225359, 0.476168782, -0.081296429, 0.420479327, -0.014430129, 3572.25832],
        'discriminator': [1.53512681, -0.416810423, -0.503275692, -0.00456529483, -0.118640997, 0.0137720369, 46.2937078],
        'encoder': [0.0124982176, 0.000976559299, -0.0113699259, -0.00874063279, -0.0252220668, -0.0021245426, 718.346686],
    },
    'aae_paper': {
        'autoencoder_optimizer': [1, 2.18278183e-05, 3.28429276e-12, 1.45303227e-06, 3.94481455e-15, 1.51265187e-12, 4.72850668],
        'discriminator_optimizer': [1, 0.000467299396, 1.36308614e-07, -0.000437476323, -0.0488302372, 7.83963969e-07, 2.58418427],
        'decoder': [0.17130959, -0.166252196, 0.476167738, -0.0813260749, 0.420601279, -0.0144260749, 3572.24955],
        'discriminator': [1.53512645, -0.417207062, -0.503275692, -0.00496521033, -0.118641004, 0.0137721431, 46.2973232],
        'encoder': [0.0123247439, 0.00121239969, -0.0111788949, -0.00854272954, -0.0250258427, -0.00232422678, 718.371406],
        'generator_optimizer': [1, 0.00693324069, 0, 5.24387147e-08, 3.06095558e-08, 3.73439289e-05, 87.6552416],
    },
    'aae_variational': {
        'autoencoder_optimizer': [1, 0.000111209207, 3.60236119e-13, 1.75726552e-06, 2.58231928e-15, 4.70660316e-11, 24.6901077],
        'discriminator_optimizer': [1, 0.0180954915, 3.20959828e-07, 0.00113963056, 0.0662987605, 1.6859409e-06, 7.52219003],
        'decoder': [-0.204011023, 0.17839472, 0.264644414, 0.227054849, -0.245988294, -0.00234144903, 3567.64451],
        'discriminator': [0.706785202, -0.496296376, 0.251618803, -0.0179363564, 0.0208443236, 0.00798358768, 39.3184229],
        'encoder': [0.0127417417, -0.00293374341, 0.012580608, 0.0129197221, 0.0345970131, -0.0036268034, 726.72561],
        'generator_optimizer': [1, 0, 0.00857075397, 3.34213013e-08, 1.22056676e-08, 1.12493366e-08, 99.5471214],
    },
    'conditional_vae': {
        'decoder': [0.197839305, -0.391248345, 0.00978098903, 0.00764457742, -0.00895335898, -0.00480302284, 20860.0493],
        'encoder': [0.11498943, -0.00645236298, -0.00719860103, -0.0162380636, 0.0257482547, -0.0155366892, 3820.54591],
        'autoencoder_optimizer': [1, 2.74558393e-12, 3.79692144e-09, 1.92368854e-09, 1.54864055e-09, 1.97852914e-05, 1.0032633],
    },
    'disentangling_ae': {
        'autoencoder_optimizer': [1, -0.00255528023, 0, 0, 8.09161332e-13, 1.75447727e-08, 78.1627567],
        'decoder': [-0.00988679659, -0.418709219, 0.200451791, 0.0817210898, 0.0532814264, -0.00503609283, 3611.57433],
        'image_classifier': [0.00448679039, 0.0255309846, 0.0431433916, 0.00686977152, 0.0461824611, -0.00449542329, 223.881659],
        's_classifier': [0.392719209, 0.199709624, 0.229898334, -0.965745926, -0.193555966, -0.0103899948, 18.8197568],
        's_encoder': [0.0113423709, -0.0039339792, 0.012580608, 0.0123194251, 0.0351970419, -0.00262665935, 726.590044],
        'supervised_optimizer': [1, 0.00170113146, 0, 0, 0.00439150725, 5.59704222e-06, 113.635823],
        'z_classifier': [0.328438401, 0.272774577, -1.11854553, 0.584561706, 0.573973477, -0.0100917295, 17.0849033],
        'z_classifier_optimizer': [2, 2, 2, 0.00100000005, 0.00100000005, 0.00100000005, 2.001],
        'z_encoder': [-0.0103142029, -0.0336116217, -0.0335699022, 0.0295693856, 0.0178302433, 0.000906541711, 730.313074],
    },
    'info_gan': {
        'discriminator_optimizer': [1, 7.39781512e-07, 1.57699051e-05, 5.5573687e-06, 5.22311083e-09, 3.36085832e-05, 2.12795801],
        'discriminator': [0.0968162939, 0.0145890387, 0.0168953892, -0.00328299287, 0.00172436947, -0.0128201209, 1011.59246],
        'generator_optimizer': [1, 1.38381199e-06, 6.22779953e-11, 5.65174772e-14, 1.55630448e-06, 9.50125759e-05, 1.44026018],
        'generator': [0.0769706443, 0.0288949665, -0.0837032571, 0.00753007876, -0.00576151162, -0.0180124845, 3340.79304],
    },
    'info_gan_gaussian_codes': {
        'discriminator_optimizer': [1, 1.55366672e-06, 2.30235091e-05, 3.32806667e-06, 1.00594411e-06, 0.00203469163, 2.65648313],
        'discriminator': [0.0967966467, 0.0145882582, 0.0168971177, -0.00335350377, 0.0018825361, -0.012819198, 1011.40234],
        'generator_optimizer': [1, 7.76784816e-07, 1.62794014e-11, 1.45868185e-07, 7.97628672e-07, 1.28759493e-05, 1.7129807],
        'generator': [0.0775198787, 0.0282898825, -0.0836921036, 0.00716776028, -0.00602367381, -0.0186435524, 3340.78607],
    },
    'label_regularized_aae': {
        'autoencoder_optimizer': [1, -2.48059587e-05, 3.99757727e-11, 5.07407208e-07, 4.82413745e-16, 8.99562651e-13, 4.11300957],
        'discriminator_optimizer': [1, 5.67669049e-05, 0, 1.70502182e-10, 0, 1.4665234e-07, 2.67875897],
        'decoder': [0.171307594, -0.166225314, 0.476168752, -0.0812964737, 0.420479298, -0.0144301113, 3572.2583],
        'discriminator': [0.602247953, 0.0146997673, 0.128619343, 0.783756554, -0.17897585, -0.00725175347, 93.1843429],
        'encoder': [0.0122975344, 0.000773933425, -0.011170174, -0.00854075048, -0.0252220668, -0.00192456949, 718.340904],
        'generator_optimizer': [1, 0.00121986377, 0, 7.68047741e-08, 1.91758687e-07, 1.60126569e-06, 63.8364161],
    },
    'semi_supervised_aae': {
        'autoencoder_optimizer': [1, 1.92862281e-05, 1.98716369e-12, -2.03589124e-07, 4.66470097e-16, 3.45252798e-14, 2.83881566],
        'category_discriminator': [0.082716085, 0.365962476, 0.250630498, -0.292908877, 0.0454940833, -0.000353529758, 85.0532461],
        'category_discriminator_optimizer': [1, 0, -0.000186352438, 5.09617015e-10, 0, 3.44331738e-07, 2.03220337],
        'discriminator_optimizer': [1, 0.00609147036, 2.39135261e-07, -0.0124405213, -0.0819555819, 4.37067592e-06, 3.0903632],
        'decoder': [0.519291639, 0.0696823299, 0.0162565727, 0.195265502, -0.202758074, 0.00924191158, 3631.15161],
        'discriminator': [-0.748615444, -0.46426484, -0.695956469, 0.00114797219, 0.133835062, 0.0154981725, 52.3398582],
        'encoder': [0.0124630146, 0.0243952163, -0.0271250941, 0.019858079, -0.00429682527, -0.00790798012, 766.669267],
        'generator_optimizer': [1, 0.0158903301, 0.00512648653, 5.43564038e-09, 1.12144409e-08, 8.03848015e-05, 137.465863],
        'supervised_optimizer': [1, -0.000724413956, -0.00174639921, 1.15818978e-07, 2.54133173e-11, 0, 166.700279],
    },
    'semi_supervised_aae_options': {
        'autoencoder_optimizer': [1, 0.000152711858, 1.99995077e-12, -4.22146422e-06, 0, 9.27183609e-14, 2.92509394],
        'category_discriminator': [-0.4742603, -0.297402799, 0.00570856174, 0.0514344685, -0.230631858, 0.0151828676, 82.3376381],
        'category_discriminator_optimizer': [1, 0.00261073513, 3.00898319e-05, 1.66775198e-08, 6.53840582e-09, 3.54442136e-06, 1.67809599],
        'discriminator_optimizer': [1, 0.000670805166, 0.000342638465, 1.88735538e-09, 2.99386793e-10, 4.81652364e-07, 2.21107891],
        'decoder': [0.177797392, 0.115208298, -0.315953135, -0.137387007, 0.0128474906, -0.000889131683, 3632.51641],
        'discriminator': [0.0660081729, -0.162494496, -0.505214214, 0.3737486, 0.294292748, -0.0161371734, 102.472716],
        'encoder': [0.066708602, 0.00244823378, -0.0234833658, 0.034677878, 0.0230107605, -0.00795907062, 774.422494],
        'generator_optimizer': [1, 0.00197343575, 2.44959028e-05, 7.0511188e-09, 5.2557394e-09, 8.7740691e-06, 44.5477661],
        'supervised_optimizer': [1, 0.0151617322, 0.043838039, 3.27499748e-07, 3.55462437e-10, 0, 211.164287],
        'teacher': [0.0668001473, 0.00235091266, -0.0231841914, 0.0345807895, 0.0231104661, -0.00775929773, 774.457361],
    },
    'supervised_aae': {
        'autoencoder_optimizer': [1, -1.27717692e-06, 4.32885498e-12, 1.30022481e-05, 2.63272121e-14, 3.23185489e-14, 1.58156286],
        'discriminator_optimizer': [1, 0.00225063553, 0.000698055606, 2.42771359e-10, 2.67503832e-11, 6.2440231e-06, 2.66698247],
        'decoder': [0.0393010378, 0.217898324, 0.0571141206, -0.442261219, 0.0940969363, -0.00633176183, 3628.97263],
        'discriminator': [0.0356694497, 0.116752706, 0.365525693, -0.0323711298, -0.057340093, -0.0122960582, 90.3721914],
        'encoder': [0.0123224827, -0.0350287147, 0.0215070564, -0.0253980476, 0.0643741861, -0.00585709978, 722.51779],
        'generator_optimizer': [1, 0.000311634823, -0.00076466694, 4.57133997e-10, 2.98926439e-10, 2.17056254e-06, 24.7336863],
    },
    'vae_gan': {
        'decoder': [0.197922677, -0.390325308, 0.00838863384, 0.00856980681, -0.00888002478, -0.00678333454, 20871.028],
        'decoder_optimizer': [3, 0.000129405264, 0.0158056878, 0.496324509, 0.387050301, 2592.27002, 94717.4139],
        'discriminator': [-0.136287957, 0.010883376, -0.0421999469, -0.00232113944, -0.0718175992, 0.00214054296, 2847.11079],
        'discriminator_optimizer': [1, 6.90317222e-07, 1.83249412e-07, 2.69320566e-07, 6.02898979e-07, 0.00717640668, 1.97057401],
        'encoder': [0.113337472, -0.00215568859, -0.00904429518, -0.00930246897, 0.0224565864, -0.0128284963, 3884.25083],
        'encoder_optimizer': [3, 2.75489874e-05, 0.0332596488, 0.000658430567, 0.0516498797, 15.7921305, 34252.1629],
    },
    'vae_gan_unbalanced': {
        'decoder': [0.196921885, -0.390702575, 0.00857679639, 0.00876814779, -0.00828209985, -0.00700865593, 20868.7305],
        'decoder_optimizer': [1, 5.37524841e-07, 0.0128946295, 0.148092255, 0.158340037, 950.991882, 17871.2504],
        'discriminator': [-0.135894075, 0.0109854108, -0.0421644449, -0.00238814065, -0.0773172081, 0.00214053877, 2845.07103],
        'discriminator_optimizer': [1, 1.32787832e-07, 1.8969051e-07, 1.99040553e-08, 1.94945912e-07, 0.00870617758, 1.33590363],
        'encoder': [0.112032674, -0.00925855525, -0.0100569986, -0.0182552785, 0.023337435, -0.00934894942, 3858.41915],
        'encoder_optimizer': [1, 7.06343286e-08, 1.49889402e-07, 4.53331372e-09, 1.56891119e-07, 0.0250341296, 11.3316278],
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_seeded_step_gives_the_pinned_weights_and_optimizer_state(case):
    got = one_step(case)
    pinned = PINNED[case]
    assert sorted(got) == sorted(pinned)
    for key, values in pinned.items():
        # float32 rounding differs from one CPU to another (the vector width):
        # 1e-6 near 0, 1e-5 of the value beside that (one pinned moment is 2592).
        # The last value sums thousands of magnitudes: relative tolerance alone.
        np.testing.assert_allclose(got[key][:-1], values[:-1], rtol=1e-5, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(got[key][-1], values[-1], rtol=1e-5, err_msg=key)


if __name__ == "__main__":
    print("PINNED = {")
    for case in sorted(CASES):
        print(f"    {case!r}: {{")
        for key, values in sorted(one_step(case).items()):
            print(f"        {key!r}: [{', '.join(format(v, '.9g') for v in values)}],")
        print("    },")
    print("}")
