"""Loss terms against hand computations."""

import torch

from brushwork.engines.optimize import losses


def test_gram_matrix_by_hand() -> None:
    # two channels over four positions: a = [1, 2, 3, 4], b = [0, 1, 0, 1]
    features = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0]]).reshape(1, 2, 2, 2)
    expected = torch.tensor([[30.0, 6.0], [6.0, 2.0]]) / 4
    assert torch.allclose(losses.gram_matrix(features)[0], expected)


def test_gram_matrix_is_size_independent_for_a_tiled_pattern() -> None:
    pattern = torch.rand(1, 3, 4, 4)
    tiled = pattern.repeat(1, 1, 3, 3)
    assert torch.allclose(losses.gram_matrix(pattern), losses.gram_matrix(tiled), atol=1e-6)


def test_mean_covariance_by_hand() -> None:
    features = torch.tensor([[1.0, 3.0], [2.0, 6.0]]).reshape(1, 2, 1, 2)  # a = [1, 3], b = [2, 6]
    mean, covariance = losses.mean_covariance(features)
    assert torch.allclose(mean, torch.tensor([[2.0, 4.0]]))
    # population covariance: var a = 1, var b = 4, cov = 2
    assert torch.allclose(covariance, torch.tensor([[[1.0, 2.0], [2.0, 4.0]]]))


def test_content_loss_is_mean_squared_error() -> None:
    a = torch.zeros(1, 2, 2, 2)
    b = torch.ones(1, 2, 2, 2)
    b[0, 0, 0, 0] = 3.0
    assert losses.content_loss(a, b).item() == (9 + 7) / 8
    assert losses.content_loss(b, b).item() == 0.0


def test_gram_loss_zero_at_target_and_positive_elsewhere() -> None:
    features = torch.rand(1, 4, 5, 5)
    target = losses.gram_matrix(features)
    assert losses.gram_loss(features, target).item() < 1e-12
    assert losses.gram_loss(features * 2, target).item() > 0
    # doubling the features quadruples the Gram matrix: the difference is 3 G
    assert torch.isclose(losses.gram_loss(features * 2, target), (3 * target).pow(2).mean())


def test_mean_covariance_loss_by_hand() -> None:
    features = torch.tensor([[1.0, 3.0], [2.0, 6.0]]).reshape(1, 2, 1, 2)
    target_mean = torch.tensor([[0.0, 4.0]])
    target_cov = torch.tensor([[[1.0, 2.0], [2.0, 2.0]]])
    # mean term: ((2-0)^2 + 0) / 2 = 2; covariance term: (4-2)^2 / 4 = 1
    assert losses.mean_covariance_loss(features, target_mean, target_cov).item() == 3.0


def test_total_variation_by_hand() -> None:
    image = torch.tensor([[0.0, 1.0], [0.0, 3.0]]).reshape(1, 1, 2, 2)
    # horizontal differences 1 and 3 → mean 5; vertical differences 0 and 2 → mean 2
    assert losses.total_variation(image).item() == 7.0
    assert losses.total_variation(torch.full((1, 3, 4, 4), 0.3)).item() == 0.0


def test_losses_are_float32_for_bfloat16_features() -> None:
    features = torch.rand(1, 3, 4, 4).bfloat16()
    assert losses.gram_matrix(features).dtype == torch.float32
    assert losses.content_loss(features, features.float()).dtype == torch.float32
