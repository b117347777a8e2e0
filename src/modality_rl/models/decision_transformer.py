"""Decision Transformer as in the paper's released code (can-wikipedia-help-offline-rl).

Tokens are (R_t, s_t, a_t) per step. Each modality has its own linear embedding; the
stacked tokens go through `embed_ln`, and only *then* is the time embedding added (the
released code's order). The GPT body's own learned position embeddings are not used:
they are zeroed and frozen, so the time embedding is the only absolute position signal (a
rotary body has none to zero: modality_rl.models.families). Its token embedding is never
used either (the body gets embeddings, not token ids): it is replaced by a frozen one-row
zero embedding, so checkpoints do not carry GPT-2's 38.6 M unused parameters (about 150
MB each). Neither change draws random numbers, so the
model's other weights are initialised exactly as before. The action is
predicted from the state token through a tanh head tied to the action embedding
(`share_input_output_proj`). Module names match the paper's Appendix C.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modality_rl.models.families import body_family


class DecisionTransformer(nn.Module):
    def __init__(self, transformer: nn.Module, state_dim: int, act_dim: int,
                 max_episode_steps: int = 1000):
        super().__init__()
        self.family = body_family(transformer)
        hidden = self.family.width(transformer)
        self.state_dim, self.act_dim, self.hidden_size = state_dim, act_dim, hidden
        self.transformer = transformer
        self.family.drop_position_embedding(transformer)
        transformer.set_input_embeddings(nn.Embedding.from_pretrained(torch.zeros(1, hidden)))
        self.embed_timestep = nn.Embedding(max_episode_steps, hidden)
        self.embed_return = nn.Linear(1, hidden)
        self.embed_state = nn.Linear(state_dim, hidden)
        self.embed_action = nn.Linear(act_dim, hidden)
        self.embed_ln = nn.LayerNorm(hidden)

    @property
    def blocks(self) -> nn.ModuleList:
        return self.family.body_blocks(self.transformer)

    def predict_action(self, state_tokens: torch.Tensor) -> torch.Tensor:
        """Tied head: the transposed action embedding maps a state token to an action."""
        return torch.tanh(F.linear(state_tokens, self.embed_action.weight.t()))

    def embed(self, states, actions, returns_to_go, timesteps) -> torch.Tensor:
        """(B, K) steps -> (B, 3K) tokens ordered R_1, s_1, a_1, R_2, ..."""
        batch, steps = states.shape[:2]
        tokens = torch.stack((self.embed_return(returns_to_go), self.embed_state(states),
                              self.embed_action(actions)), dim=2)
        tokens = self.embed_ln(tokens.reshape(batch, 3 * steps, self.hidden_size))
        return tokens + self.embed_timestep(timesteps).repeat_interleave(3, dim=1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor, returns_to_go: torch.Tensor,
                timesteps: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_attentions: bool = False):
        """Predicted actions (B, K, act_dim); with `output_attentions`, also the attention
        probabilities per block, each (B, heads, 3K, 3K)."""
        batch, steps = states.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones(batch, steps, dtype=torch.long, device=states.device)
        token_mask = attention_mask.repeat_interleave(3, dim=1)
        out = self.transformer(inputs_embeds=self.embed(states, actions, returns_to_go, timesteps),
                               attention_mask=token_mask, use_cache=False,
                               output_attentions=output_attentions)
        hidden = out.last_hidden_state.reshape(batch, steps, 3, self.hidden_size)
        actions_pred = self.predict_action(hidden[:, :, 1])
        return (actions_pred, out.attentions) if output_attentions else actions_pred


def block_parameter_sets(model: DecisionTransformer) -> dict[str, torch.Tensor]:
    """Parameters of the Transformer blocks by the paper's names ('0.ln_1.weight', ...;
    each family's own module names)."""
    return dict(model.blocks.named_parameters())
