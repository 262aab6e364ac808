"""The order validator the workflow calls (a Python Lambda function).

In: {"orderId": "...", "item": "...", "qty": n}.  Out: {"valid": bool, "reason": str,
"total": number} where total = qty x the item's price."""

PRICES = {"tea": 4, "coffee": 5, "cake": 7}


def handler(event, context):
    item = event.get("item")
    qty = event.get("qty")
    if item not in PRICES:
        return {"valid": False, "reason": f"unknown item {item!r}", "total": 0}
    if not isinstance(qty, int) or qty <= 0:
        return {"valid": False, "reason": "qty must be a positive integer", "total": 0}
    return {"valid": True, "reason": "", "total": PRICES[item] * qty}
