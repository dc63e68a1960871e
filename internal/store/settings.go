package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// setting is a row of the settings table: small installation-wide values.
type setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (setting) TableName() string { return "settings" }

// Setting returns the value kept under key, and whether there is one.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var row setting
	err := s.DB(ctx).Where("key = ?", key).Take(&row).Error
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: read setting %s: %w", key, err)
	}
	return row.Value, true, nil
}

// SetSetting stores value under key, replacing what was there.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	row := setting{Key: key, Value: value, UpdatedAt: time.Now().UTC()}
	err := s.DB(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: write setting %s: %w", key, err)
	}
	return nil
}

// EnsureSetting returns the value under key, storing generate()'s result first when
// there is none. Two processes starting together agree on one value: the first
// insert wins and the other reads it back.
func (s *Store) EnsureSetting(ctx context.Context, key string, generate func() string) (string, error) {
	if v, ok, err := s.Setting(ctx, key); err != nil || ok {
		return v, err
	}
	row := setting{Key: key, Value: generate(), UpdatedAt: time.Now().UTC()}
	if err := s.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", fmt.Errorf("store: write setting %s: %w", key, err)
	}
	v, ok, err := s.Setting(ctx, key)
	if err == nil && !ok {
		err = fmt.Errorf("store: setting %s vanished after insert", key)
	}
	return v, err
}
