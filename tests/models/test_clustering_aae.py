import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import evaluation
from tests import families
from tests.helpers import assert_saved_model_round_trip


def test_each_cluster_is_named_by_its_surest_validation_image():
    # Three clusters; cluster 1 is surest of image 2 (a 7), cluster 2 of image 4.
    validation = np.array([
        [0.8, 0.1, 0.1],  # a 4, the surest of cluster 0
        [0.6, 0.3, 0.1],
        [0.1, 0.9, 0.0],  # a 7
        [0.2, 0.7, 0.1],
        [0.1, 0.1, 0.8],  # a 7: clusters 1 and 2 both become 7s
    ])
    names = evaluation.cluster_labels(validation, np.array([4, 1, 7, 1, 7]))
    np.testing.assert_array_equal(names, [4, 7, 7])
    test = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    # Predicted 4, 7, 7, 4 against 4, 7, 1, 1: two wrong.
    assert evaluation.clustering_error(test, np.array([4, 7, 1, 1]), names) == 0.5


def test_cluster_naming_rejects_bad_input():
    q = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="labels: expected one label per image"):
        evaluation.cluster_labels(q, np.arange(3))
    with pytest.raises(ValueError, match="labels: expected 4 integer labels >= 0"):
        evaluation.cluster_labels(q, np.array([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="probabilities: expected finite numbers"):
        evaluation.cluster_labels(np.full((4, 3), np.nan), np.arange(4))
    with pytest.raises(ValueError, match=r"names: expected one integer label >= 0 per cluster, shape \(3,\)"):
        evaluation.clustering_error(q, np.arange(4), np.arange(4))


def trained_weights(x):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    # Every term of the encoder's loss on, so that none of them reads a label.
    model = families.clustering_aae(
        num_clusters=4, balance_weight=1.0, input_noise=0.1, consistency_weight=1.0,
        virtual_adversarial_weight=1.0,
    )
    model.compile(jit_compile=False)  # XLA: no bearing here, and slow to compile
    model.fit(x, epochs=1, verbose=0)
    return [w.numpy() for w in model.weights]


def test_no_label_reaches_any_loss(images):
    model = families.clustering_aae(num_clusters=4)
    assert "supervised_optimizer" not in model.optimizer_roles()
    assert "supervised_loss" not in [m.name for m in model.metrics]
    model.compile()
    with pytest.raises(ValueError, match="y: this ClusteringAdversarialAutoencoder trains without labels"):
        model.fit(images, np.arange(32) % 4, epochs=1, verbose=0)
    # A dataset's labels are read past (with a warning), whatever they are, even out
    # of the cluster range: every weight ends as it does from the images alone.
    alone = trained_weights(tf.data.Dataset.from_tensor_slices(images).batch(8))
    labels = np.arange(32) % 10  # 4 clusters: labels out of their range pass too
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    with pytest.warns(UserWarning, match="the dataset's labels are not used"):
        weights = trained_weights(dataset)
    for a, b in zip(alone, weights):
        np.testing.assert_array_equal(a, b)


def test_clusters_are_the_argmax_of_q_and_sample_decodes_them(images):
    model = families.clustering_aae(num_clusters=4)
    q = model.classify(images)
    assert q.shape == (32, 4)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.clusters(images), q.argmax(axis=1))
    assert model.sample(5, clusters=[0, 1, 2, 3, 3], seed=0).shape == (5, 28, 28, 1)
    with pytest.raises(ValueError, match=r"clusters: expected 2 integer labels in \[0, 3\]"):
        model.sample(2, clusters=[0, 4])
    with pytest.raises(ValueError, match="num_clusters: expected at least 2"):
        families.clustering_aae(num_clusters=1)


def test_evaluate_reads_the_images_alone(images):
    model = families.clustering_aae(num_clusters=4)
    model.compile(jit_compile=False)
    metrics = model.evaluate(images, verbose=0, return_dict=True)
    assert set(metrics) == {"recon_loss", "d_loss", "g_loss", "d_accuracy", "d_cat_loss"}
    labelled = tf.data.Dataset.from_tensor_slices((images, np.arange(32) % 10)).batch(8)
    with pytest.warns(UserWarning, match="the dataset's labels are not used"):
        again = model.evaluate(labelled, verbose=0, return_dict=True)
    assert again["recon_loss"] == pytest.approx(metrics["recon_loss"])


def test_the_balance_term_spreads_the_images_over_the_clusters():
    (x, _), _ = kl.data.load_dataset("digits")
    with pytest.raises(ValueError, match="^balance_weight: "):
        families.clustering_aae(balance_weight=-1.0)
    used, spread = {}, {}
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)  # the same initial weights for both
        model = families.clustering_aae(num_clusters=8, units=(64,), balance_weight=weight)
        model.compile(**{role: keras.optimizers.Adam(1e-3, beta_1=0.5)
                         for role in model.optimizer_roles()})
        history = model.fit(x, batch_size=64, epochs=3, verbose=0).history
        assert ("balance_loss" in history) == bool(weight)
        q = model.classify(x)
        mean = q.mean(axis=0)
        used[weight] = len(np.unique(q.argmax(axis=1)))
        spread[weight] = -np.sum(mean * np.log(np.maximum(mean, 1e-12))) / np.log(8)
    # Without it (and without batch normalisation) the images crowd into a cluster
    # or two; with it the batch's mean y is nearly uniform over the 8 (seeds 0
    # and 1: 1 cluster against 7 and 8).
    assert used[1.0] >= 6 and used[1.0] > used[0.0], used
    assert spread[1.0] > 0.9 and spread[1.0] > spread[0.0] + 0.2, spread
    metrics = model.evaluate(x[:256], verbose=0, return_dict=True)
    assert -1e-6 < metrics["balance_loss"] < 0.2 * np.log(8)


def test_virtual_adversarial_training_makes_y_hold_near_each_image():
    (x, _), _ = kl.data.load_dataset("digits")
    sensitivity = {}
    for weight in (0.0, 3.0):
        keras.utils.set_random_seed(0)  # the same initial weights for both
        model = families.clustering_aae(
            num_clusters=8, units=(64,), balance_weight=1.0,
            virtual_adversarial_weight=weight, virtual_adversarial_radius=1.0,
        )
        model.compile(jit_compile=False, **{role: keras.optimizers.Adam(1e-3, beta_1=0.5)
                                            for role in model.optimizer_roles()})
        history = model.fit(x, batch_size=64, epochs=3, verbose=0).history
        assert ("virtual_adversarial_loss" in history) == bool(weight)
        # How far y moves under the step that moves it most, whether or not fit
        # learnt against it: KL(y(x) || y(x + r)), r of norm 1.
        sensitivity[weight] = float(keras.ops.mean(
            model.virtual_adversarial_loss(model.virtual_adversarial_view(x[:512]))
        ))
    assert sensitivity[3.0] < 0.5 * sensitivity[0.0], sensitivity


def test_virtual_adversarial_view_reads_batch_statistics_and_moves_no_state(images):
    model = families.clustering_aae(num_clusters=4, batch_norm=True, random_shift=2.0)
    model.compile(jit_compile=False)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    before = [v.numpy() for v in model.encoder.non_trainable_variables]
    y, _, state = model.virtual_adversarial_view(images)
    for a, b in zip(before, model.encoder.non_trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    # The batch's own statistics and shifts, as a training pass reads y, not the
    # moving averages.
    np.testing.assert_allclose(y, model.encoder(images, training=True)[0], atol=1e-5)
    assert np.abs(y - model.encoder(images, training=False)[0]).max() > 1e-3
    # The pass above moved the encoder's state (its averages and the shifts' seed):
    # the term still reads x + r in the view's state, under the view's shifts, so
    # with r = 0 it is 0.
    zero = model.virtual_adversarial_loss((y, images, state))
    np.testing.assert_allclose(zero, 0.0, atol=1e-5)
    moved = model.virtual_adversarial_loss(
        (y, images, [v.value for v in model.encoder.non_trainable_variables])
    )
    assert float(np.max(moved)) > 1e-3


def test_evaluate_leaves_the_encoder_state_as_it_was(images):
    # The consistency metric's two training passes move batch normalisation's
    # averages and the shifts' seeds; evaluating must not.
    model = families.clustering_aae(
        num_clusters=4, batch_norm=True, random_shift=2.0, consistency_weight=1.0
    )
    model.compile(jit_compile=False)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    before = [v.numpy() for v in model.encoder.non_trainable_variables]
    metrics = model.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    assert metrics["consistency_loss"] > 0
    for a, b in zip(before, model.encoder.non_trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())


def test_semi_supervised_options_are_refused():
    for option in ({"consistency_rampup": 100},
                   {"conditional_discriminator": True},
                   {"unsupervised_rows": "unlabelled"}, {"num_classes": 10}):
        (key,) = option
        with pytest.raises(ValueError, match=f"^{key}: the clustering AAE has no"):
            families.clustering_aae(**option)


def test_teacher_averages_the_encoder_after_each_step_and_clusters(images):
    model = families.clustering_aae(
        num_clusters=4, random_shift=2.0, consistency_weight=1.0, teacher_decay=0.5
    )
    model.compile(jit_compile=False)
    x = images[:16]
    model.train_on_batch(x)
    before = [v.numpy() for v in model.teacher_variables]
    model.train_on_batch(x)
    after = [v.numpy() for v in model.encoder.trainable_variables]
    for teacher, old, new in zip(model.teacher_variables, before, after):
        np.testing.assert_allclose(teacher.numpy(), 0.5 * old + 0.5 * new, rtol=1e-5, atol=1e-7)
    assert not np.allclose(before[0], after[0])
    # The clusters are the teacher's: zero its weights and y is uniform.
    for teacher in model.teacher_variables:
        teacher.assign(np.zeros(teacher.shape, "float32"))
    np.testing.assert_allclose(model.classify(x), 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="teacher_decay: the teacher gives the consistency"):
        families.clustering_aae(teacher_decay=0.9)


def test_saved_model_round_trip(images, tmp_path):
    # Batch normalisation too: its moving statistics come back with the weights.
    model = families.clustering_aae(
        num_clusters=5, input_noise=0.1, batch_norm=True, balance_weight=0.5,
        consistency_weight=2.0, teacher_decay=0.9, virtual_adversarial_weight=0.3,
        virtual_adversarial_radius=1.5,
    )
    model.compile()
    model.fit(images, batch_size=16, epochs=1, verbose=0)
    loaded = assert_saved_model_round_trip(model, images, tmp_path)
    assert loaded.num_clusters == 5 and loaded.input_noise == 0.1
    assert loaded.balance_weight == 0.5 and loaded.consistency_weight == 2.0
    assert loaded.teacher_decay == 0.9
    assert loaded.virtual_adversarial_weight == 0.3 and loaded.virtual_adversarial_radius == 1.5
    assert loaded.compiled and loaded.category_discriminator_optimizer.iterations.numpy() == 2
    loaded.fit(images, batch_size=16, epochs=1, verbose=0)


def test_clusters_are_used_and_follow_the_digits(mnist_subset):
    (x, y), (xt, yt) = mnist_subset
    # Batch normalisation: without it y falls into one cluster on the small digits
    # set within these steps (docs/aae_guide.md). D_gauss, D_cat and the encoder
    # against them learn 10x faster than the autoencoder.
    keras.utils.set_random_seed(0)
    model = families.clustering_aae(units=(256,), num_clusters=16, batch_norm=True)
    adam = lambda rate: keras.optimizers.Adam(rate, beta_1=0.5)  # noqa: E731
    model.compile(
        autoencoder_optimizer=adam(1e-3), discriminator_optimizer=adam(1e-2),
        generator_optimizer=adam(1e-2), category_discriminator_optimizer=adam(1e-2),
    )
    model.fit(x, batch_size=50, epochs=-(-300 * 50 // len(x)), verbose=0)  # 300 steps
    clusters = model.clusters(xt)
    assert len(np.unique(clusters)) >= 4  # all in one: a collapsed y
    # Named by training images (no labels were used to train), scored on test images.
    names = evaluation.cluster_labels(model.classify(x[:1000]), y[:1000])
    error = evaluation.clustering_error(model.classify(xt), yt, names)
    assert error < 0.8  # one cluster for all: about 0.9


def test_unlabelled_criteria_read_the_encoder_and_leave_its_state(images):
    from benchmarks import clustering_criteria

    model = families.clustering_aae(num_clusters=4, batch_norm=True, random_shift=2.0)
    before = [v.numpy() for v in model.encoder.non_trainable_variables]
    consistency, balance, reconstruction = clustering_criteria.criteria(model, images, batch_size=8)
    assert consistency > 0  # two shifted views differ
    assert 0 <= balance <= np.log(4) and reconstruction > 0
    for a, b in zip(before, model.encoder.non_trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    teacher = families.clustering_aae(num_clusters=4, consistency_weight=1.0, teacher_decay=0.9)
    for measure in (clustering_criteria.criteria, clustering_criteria.exact_log_probabilities):
        with pytest.raises(ValueError, match="model: expected a clustering AAE without a mean teacher"):
            measure(teacher, images)


def test_exact_ranking_orders_images_that_tie_in_float32(images):
    from benchmarks import clustering_criteria

    keras.utils.set_random_seed(0)  # some initial weights saturate every image
    model = families.clustering_aae(num_clusters=4)
    head = model.encoder.get_layer("y")
    kernel, bias = head.get_weights()
    head.set_weights([30 * kernel, np.array([5.0, 0.0, -5.0, 1.0], "float32")])
    log_q = clustering_criteria.exact_log_probabilities(model, images)
    assert log_q.dtype == np.float64
    q = model.classify(images)
    assert q.max(axis=1).min() < 0.9  # some images are not saturated
    # classify's float32 softmax of logits this large is good to about 1e-5
    # (relative); the tolerance leaves tenfold room.
    np.testing.assert_allclose(np.exp(log_q), q, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(log_q.argmax(axis=1), q.argmax(axis=1))
    # Saturated: in float32 several images reach the top of their cluster;
    # their float64 log q still differ.
    cluster = np.argmax(np.sum(q == q.max(axis=0), axis=0))
    tied = q[:, cluster] == q[:, cluster].max()
    assert tied.sum() > 1 and len(np.unique(log_q[tied, cluster])) == tied.sum()
    plain = families.clustering_aae(num_clusters=4)
    plain.encoder.get_layer("y").activation = None
    with pytest.raises(ValueError, match="y head is a Dense layer"):
        clustering_criteria.exact_log_probabilities(plain, images)
