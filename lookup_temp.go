package justap

// TEMPORARY: the outcome branch adds ChargesService.GetByMerchantTradeID;
// this stand-in has the same signature and is deleted when that lands.

import (
	"context"
	"fmt"
	"time"
)

// GetByMerchantTradeID returns the charge with the merchant's order number
// merchantTradeID, of any age. An error matching ErrNotFound says there is
// none.
func (s *ChargesService) GetByMerchantTradeID(ctx context.Context, merchantTradeID string, opts ...Option) (*Charge, error) {
	if err := checkMerchantID("merchantTradeID", merchantTradeID); err != nil {
		return nil, err
	}
	l, err := s.List(ctx, &ChargeListParams{
		MerchantTradeID: merchantTradeID,
		CreatedGTE:      time.Unix(1, 0), // all time: without a bound the server sends a month
	}, opts...)
	if err != nil {
		return nil, err
	}
	for _, c := range l.Data {
		if c.MerchantTradeID == merchantTradeID {
			return c, nil
		}
	}
	return nil, fmt.Errorf("justap: no charge with merchant_trade_id %q: %w", merchantTradeID, ErrNotFound)
}
