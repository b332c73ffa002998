"""What transformers computes for a batch of ids, in the shapes reference_forward_tool writes
(logits, per-row baseline loss and accuracy, [mem]-prefix logits), and the relative error the
checks compare them by. Used by check_make_model.py, check_smollm2.py and bench/gpu/parity.py."""
import torch


def rel(a, b):
    """max |a - b| / max |b|: a whole tensor's relative error, entries near zero not dominating."""
    scale = b.abs().max().item()
    return (a.double() - b.double()).abs().max().item() / (scale if scale > 0 else 1.0)


def transformers_outputs(model, ids, mem):
    """ids [B, T] on the model's device, mem [k, d] anywhere; every output f32 on the CPU."""
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
        loss, acc = [], []
        for row in ids:
            out = model(input_ids=row[None], labels=row[None])
            loss.append(out.loss.float())
            acc.append((out.logits[0, :-1].argmax(-1) == row[1:]).float().mean())
        embeds = model.get_input_embeddings()(ids)
        prefix = mem[None].expand(ids.shape[0], -1, -1).to(embeds.device, embeds.dtype)
        mem_logits = model(inputs_embeds=torch.cat([prefix, embeds], 1)).logits.float()
    return {"logits": logits.cpu(), "loss": torch.stack(loss).cpu(), "acc": torch.stack(acc).cpu(),
            "mem_logits": mem_logits.cpu()}


def compare_outputs(who, got, want, tol):
    """Printed relative errors of logits, mem_logits and loss, and accuracy equality: the list
    of failures (empty when `got` matches `want`)."""
    errors = []
    for key in ("logits", "mem_logits", "loss"):
        e = rel(got[key], want[key])
        print(f"{who}: {key} relative error {e:.2e}")
        if e > tol:
            errors.append(f"{who}: {key} relative error {e:.2e} > {tol}")
    if not torch.equal(got["acc"], want["acc"]):
        errors.append(f"{who}: acc {got['acc'].tolist()} != transformers {want['acc'].tolist()}")
    return errors
